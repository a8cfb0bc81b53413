import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPostgres } from "../../src/postgres/postgres-connection.js";
import { openSnapshotRange, type SnapshotRangeReader } from "../../src/postgres/postgres-snapshot-range-reader.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

/**
 * Range readers of a distributed snapshot (the Kafka target's work items),
 * against the real server: ranges read inside an exported snapshot hold
 * exactly its rows, a snapshot whose exporter ended cannot be read, and an
 * open reader holds back the creation of a new logical slot (the fence that
 * keeps a crashed capture run's ranges before its next snapshot).
 */
describe("openSnapshotRange", () => {
  let db: TestDatabase;
  let oid = 0;
  const slot = `zetl_range_${process.pid}_${Date.now() % 100000}`;

  beforeAll(async () => {
    db = await createTestDatabase("pgsrc_range");
    await db.query(`
      CREATE TABLE t (id int PRIMARY KEY, body text NOT NULL, at timestamptz(6));
      INSERT INTO t SELECT g, repeat('x', 40) || g, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 5000) g;`);
    oid = Number((await db.query("SELECT 't'::regclass::oid::int AS oid")).rows[0]?.oid);
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  const options = (snapshot: string, fromBlock: number, toBlock: number | undefined) => ({
    connection: { url: db.url, ssl: undefined },
    snapshot,
    relationOid: oid,
    table: { namespace: "public", name: "t" },
    fromBlock,
    toBlock,
    columns: ["id", "body", "at"],
    pageRows: 300,
  });

  async function readAll(reader: SnapshotRangeReader): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const page of reader.pages()) rows.push(...page);
    return rows;
  }

  it("reads exactly the snapshot's rows across ranges; a new slot waits for an open reader; an ended snapshot is refused", async () => {
    const exporter = await connectPostgres({ url: db.url, ssl: undefined }, { replication: true });
    let creator: pg.Client | undefined;
    try {
      const created = await exporter.query<{ snapshot_name: string }>(`CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`);
      const snapshot = created.rows[0]?.snapshot_name ?? "";
      // after the snapshot: not in it
      await db.query("UPDATE t SET body = 'changed' WHERE id <= 100; INSERT INTO t VALUES (9001, 'later', now()); DELETE FROM t WHERE id = 5000");
      const blocks = Number((await db.query("SELECT pg_relation_size('t') / current_setting('block_size')::int AS b")).rows[0]?.b);
      expect(blocks).toBeGreaterThan(8);
      const seen: Record<string, unknown>[] = [];
      const step = 4;
      let last: SnapshotRangeReader | undefined;
      for (let from = 0; from < blocks; from += step) {
        const reader = await openSnapshotRange(options(snapshot, from, from + step < blocks ? from + step : undefined));
        if ("notImportable" in reader) throw new Error(reader.notImportable);
        seen.push(...(await readAll(reader)));
        if (from + step >= blocks) last = reader;
        else await reader.close();
      }
      expect(seen.length).toBe(5000);
      expect(new Set(seen.map((r) => r.id)).size).toBe(5000);
      expect(seen.find((r) => r.id === 1)?.body).toBe(`${"x".repeat(40)}1`);
      expect(seen.find((r) => r.id === 5000)).toBeDefined();
      expect(seen.find((r) => r.id === 9001)).toBeUndefined();
      expect(seen.find((r) => r.id === 7)?.at).toBe("2026-01-01T00:00:07Z");

      // a reader pointed at another database (a wrong sourceUrl) cannot import it, and says why
      const other = await createTestDatabase("pgsrc_range_other");
      try {
        const wrong = await openSnapshotRange({ ...options(snapshot, 0, undefined), connection: { url: other.url, ssl: undefined } });
        expect(wrong).toMatchObject({ notImportable: expect.stringMatching(/different database/) });
      } finally {
        await other.drop();
      }

      // the exporter ends (a crashed capture run); the last reader is still open
      await exporter.end();
      expect(await openSnapshotRange(options(snapshot, 0, undefined))).toMatchObject({ notImportable: expect.stringMatching(/snapshot/) });
      creator = await connectPostgres({ url: db.url, ssl: undefined }, { replication: true });
      const pid = Number((await creator.query("SELECT pg_backend_pid() AS pid")).rows[0]?.pid);
      let done = false;
      const creating = creator.query(`CREATE_REPLICATION_SLOT ${slot}_next TEMPORARY LOGICAL pgoutput`).then(() => {
        done = true;
      });
      // the creation waits for the reader's transaction id (it waits for every running transaction of the cluster in turn: other ones may come first)
      for (let i = 0; ; i++) {
        const waiting = await db.query(
          `SELECT 1 FROM pg_locks w JOIN pg_locks h ON h.locktype = 'transactionid' AND h.transactionid = w.transactionid AND h.granted
             JOIN pg_stat_activity a ON a.pid = h.pid
            WHERE w.pid = $1 AND w.locktype = 'transactionid' AND NOT w.granted AND a.application_name = $2`,
          [pid, `zero-etl chunk ${snapshot}`],
        );
        if (waiting.rowCount === 1) break;
        expect(i).toBeLessThan(600);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(done).toBe(false);
      await last?.close();
      await creating;
      expect(done).toBe(true);
    } finally {
      await exporter.end().catch(() => {});
      await creator?.end().catch(() => {});
    }
  }, 120_000);
});
