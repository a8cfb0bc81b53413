import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ZeroEtlError } from "@zero-etl/core";

interface LockRecord {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/**
 * The writer lock of a pipeline whose target has none (`Sink.lock` absent,
 * e.g. Iceberg): the file `<state dir>/<pipeline>.lock`, created exclusively,
 * holding the owner's pid and host. A file left by a process that is gone
 * (same host, pid not alive) is taken over. It protects runs that share the
 * state directory on one host; runs on different hosts or with different
 * state directories are not seen. Throws `pipeline-locked` when held;
 * returns the function that releases it.
 */
export async function takeStateDirLock(stateDir: string, pipeline: string): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true });
  const file = join(stateDir, `${pipeline}.lock`);
  const mine: LockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(`${JSON.stringify(mine)}\n`);
      await handle.close();
      return async () => {
        const now = await readRecord(file);
        if (now?.pid === mine.pid && now.host === mine.host) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readRecord(file);
    if (attempt === 0 && (holder === undefined || isGone(holder))) {
      // move the stale file aside rather than delete it: of two processes taking over at once, one rename fails
      await rename(file, `${file}.stale-${process.pid}`).then(
        () => rm(`${file}.stale-${process.pid}`, { force: true }),
        () => undefined,
      );
      continue;
    }
    const who = holder === undefined ? "another process" : `process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`;
    throw new ZeroEtlError(`pipeline ${pipeline} is already running: ${file} is held by ${who}. Stop that run first; nothing was changed`, {
      code: "pipeline-locked",
    });
  }
}

async function readRecord(file: string): Promise<LockRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(file, "utf8")) as Partial<LockRecord>;
    return typeof record.pid === "number" && typeof record.host === "string" ? (record as LockRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner is certainly gone: on this host, and its pid is not alive (or is this very process, reused after a restart). */
function isGone(record: LockRecord): boolean {
  if (record.host !== hostname()) return false;
  if (record.pid === process.pid) return true;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
