import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { sql } from "kysely";

/**
 * Serializes the sink's DDL in one target schema across every pipeline and
 * process writing to it, until the calling transaction ends (a
 * transaction-level advisory lock). Needed because PostgreSQL's
 * `CREATE SCHEMA/TABLE … IF NOT EXISTS` is not safe against a concurrent
 * creator of the same name: the loser fails on a catalog's unique index
 * (23505) instead of finding the object. Kafka workers of one consumer group
 * starting at once against a fresh target are the common case. The key space
 * differs from the writer lock's (its own prefix), so it never blocks a run.
 */
export async function lockSchemaDdl(db: Kysely<any>, schema: string): Promise<void> {
  const digest = createHash("sha256").update(`zeroetl-ddl\u0000${schema}`).digest();
  const classId = digest.readUInt32BE(0) & 0x7fffffff;
  const objId = digest.readUInt32BE(4) & 0x7fffffff;
  await sql`SELECT pg_advisory_xact_lock(${classId}::int, ${objId}::int)`.execute(db);
}
