import { createHash } from "node:crypto";
import { ZeroEtlError } from "@zero-etl/core";
import type { PostgresSession } from "./postgres-session.js";

/** How long a held lock is waited for before the run refuses. */
const LOCK_GRACE_MS = 5_000;

/** The two int4 keys of a pipeline's session-level advisory lock. */
export interface WriterLockKey {
  readonly pipeline: string;
  readonly classId: number;
  readonly objId: number;
}

/**
 * The advisory lock key of a pipeline in a target schema: a hash of both, so
 * that pipelines of the same name writing into different schemas do not
 * exclude each other. Kept within 31 bits: `pg_locks` shows the keys as oids.
 */
export function writerLockKey(schema: string, pipeline: string): WriterLockKey {
  const digest = createHash("sha256").update(`zeroetl\u0000${schema}\u0000${pipeline}`).digest();
  return Object.freeze({ pipeline, classId: digest.readUInt32BE(0) & 0x7fffffff, objId: digest.readUInt32BE(4) & 0x7fffffff });
}

/**
 * Takes the pipeline's writer lock on `session` (a session-level advisory
 * lock, released when the session ends, so a crashed run never leaves it
 * behind). Every write of the sink runs on this session, so holding it
 * fences out a second run. `again` is set when the lock is taken after a lost
 * connection: then a held lock is retryable (the server may not have noticed
 * the old connection is gone yet), while on the first take it is final.
 */
export async function takeWriterLock(session: PostgresSession, key: WriterLockKey, target: string, again: boolean): Promise<void> {
  // a run restarted right after a crash may find the dead run's server process still finishing a
  // statement (it notices the closed socket only then): give it a few seconds before refusing
  const deadline = Date.now() + LOCK_GRACE_MS;
  for (;;) {
    const rows = await session.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::int, $2::int) AS locked", [key.classId, key.objId]);
    if (rows[0]?.locked === true) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const holders = await session.query<{ pid: number; application_name: string | null; client_addr: string | null; backend_start: string | null }>(
    `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start::text AS backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid AND l.objid = $2::int::oid AND l.objsubid = 2`,
    [key.classId, key.objId],
  );
  const holder = holders[0];
  const who =
    holder === undefined
      ? "another session"
      : `server process ${holder.pid}${holder.client_addr === null ? "" : ` from ${holder.client_addr}`}${holder.backend_start === null ? "" : ` connected since ${holder.backend_start}`}`;
  const message = again
    ? `pipeline ${key.pipeline}: the writer lock in target ${target} was lost with the connection and is held by ${who}; waiting for it, nothing is written meanwhile`
    : `pipeline ${key.pipeline} is already running: its writer lock in target ${target} is held by ${who}. Stop that run first; nothing was changed`;
  throw new ZeroEtlError(message, { code: "pipeline-locked", retryable: again });
}
