import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, ZeroEtlError, isPreflightPassing, type ChangeBatch, type Source } from "@zero-etl/core";
import { createPostgresSource, parseLsn } from "@zero-etl/sources/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { openStream, readSnapshot } from "./stream-harness.js";

let db: TestDatabase;
const sources: Source[] = [];

beforeAll(async () => {
  db = await createTestDatabase("pgsrc_life");
});

afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await db?.drop();
});

function source(suffix: string, tables: string[]): Source {
  const created = createPostgresSource({
    url: db.url,
    pipeline: `${db.name}_${suffix}`,
    slot: `${db.name}_${suffix}`,
    publication: `pub_${suffix}`,
    tables: tables.map((name) => ({ namespace: "public", name })),
  });
  sources.push(created);
  return created;
}

async function confirmedFlush(slot: string): Promise<bigint> {
  const result = await db.query<{ lsn: string }>("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1", [slot]);
  return parseLsn(result.rows[0]?.lsn ?? "0/0");
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("postgres source: checkpoints, restart and errors", () => {
  it("acknowledge moves confirmed_flush_lsn exactly there; a restart from the checkpoint loses nothing", async () => {
    await db.query("CREATE TABLE acked (id int PRIMARY KEY)");
    const first = source("ack", ["acked"]);
    const session = await first.snapshot({});
    await readSnapshot(session.chunks);
    const slot = `${db.name}_ack`;
    const start = await confirmedFlush(slot);
    const stream = openStream(first, session.position);
    let checkpoint1: string;
    try {
      await db.query("INSERT INTO acked VALUES (1)");
      const b1 = await stream.untilBatch((b) => b.events.some((e) => e.op === "insert"));
      checkpoint1 = b1.checkpoint ?? "";
      expect(parseLsn(checkpoint1)).toBeGreaterThan(start);
      await db.query("INSERT INTO acked VALUES (2)");
      const b2 = await stream.untilBatch((b) => b.events.some((e) => e.op === "insert"));
      expect(parseLsn(b2.checkpoint ?? "0/0")).toBeGreaterThan(parseLsn(checkpoint1));
      // before any acknowledgement the slot has not moved, although two transactions were received
      expect(await confirmedFlush(slot)).toBe(start);
      await first.acknowledge(checkpoint1);
      await waitFor(async () => (await confirmedFlush(slot)) === parseLsn(checkpoint1));
      // keepalive replies and periodic updates never report more than what was acknowledged
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await confirmedFlush(slot)).toBe(parseLsn(checkpoint1));
    } finally {
      await stream.stop();
    }
    await db.query("INSERT INTO acked VALUES (3)");
    // a new process resumes from the stored checkpoint: transaction 2 is replayed, 3 follows, 1 is not repeated
    const second = source("ack", ["acked"]);
    const resumed = openStream(second, checkpoint1);
    try {
      const events = await resumed.until((e) => e.filter((x) => x.op === "insert").length >= 2);
      const ids = events.flatMap((e) => (e.op === "insert" ? [e.after.id] : []));
      expect(ids).toEqual([2, 3]);
    } finally {
      await resumed.stop();
    }
  });

  it("an idle selected table still gets advancing checkpoints while other tables are busy", async () => {
    await db.query("CREATE TABLE quiet (id int PRIMARY KEY)");
    await db.query("CREATE TABLE busy (id int PRIMARY KEY, v text)");
    const idle = source("idle", ["quiet"]);
    const session = await idle.snapshot({});
    await readSnapshot(session.chunks);
    const stream = openStream(idle, session.position);
    try {
      for (let i = 0; i < 20; i++) await db.query("INSERT INTO busy SELECT g, md5(g::text) FROM generate_series($1::int, $1::int + 499) g", [i * 500]);
      const marker = parseLsn((await db.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "0/0");
      const batch = await stream.untilBatch((b) => b.checkpoint !== undefined && parseLsn(b.checkpoint) >= marker, 40_000);
      expect(batch.events).toEqual([]);
      expect(batch.caughtUp).toBe(true);
      expect(stream.batches.flatMap((b) => b.events)).toEqual([]);
      await idle.acknowledge(batch.checkpoint ?? "");
      await waitFor(async () => (await confirmedFlush(`${db.name}_idle`)) >= marker);
    } finally {
      await stream.stop();
    }
  });

  it("snapshots keyless tables through a cursor in chunks, and an abort ends the stream cleanly", async () => {
    await db.query("CREATE TABLE heap (a int, b text)");
    await db.query("ALTER TABLE heap REPLICA IDENTITY FULL");
    await db.query("INSERT INTO heap SELECT g, 'r' || g FROM generate_series(1, 25) g");
    const s = createPostgresSource({ url: db.url, pipeline: `${db.name}_heap`, publication: "pub_heap", tables: [{ namespace: "public", name: "heap" }], snapshotChunkRows: 10 });
    sources.push(s);
    const session = await s.snapshot({});
    expect(session.schemas.map((x) => x.primaryKey)).toEqual([[]]);
    const chunks = [];
    for await (const chunk of session.chunks) chunks.push({ n: chunk.rows.length, last: chunk.last, read: chunk.rowsRead, no: chunk.chunk });
    expect(chunks).toEqual([
      { n: 10, last: false, read: 10, no: 0 },
      { n: 10, last: false, read: 20, no: 1 },
      { n: 5, last: true, read: 25, no: 2 },
    ]);
    const controller = new AbortController();
    const iterator = s.stream(session.position, { signal: controller.signal })[Symbol.asyncIterator]();
    await db.query("DELETE FROM heap WHERE a = 3");
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const batch = first.value as ChangeBatch;
    expect(batch.events.filter((e) => e.op === "delete").map((e) => e.op === "delete" && e.before)).toEqual([{ a: 3, b: "r3" }]);
    const pending = iterator.next();
    controller.abort();
    expect((await pending).done).toBe(true);
    const slot = await db.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [`zeroetl_${db.name}_heap`]);
    expect(slot.rows).toHaveLength(1);
    await waitFor(async () => (await db.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [`zeroetl_${db.name}_heap`])).rows[0]?.active === false);
  });

  it("a resync snapshot re-reads a table while the stream keeps its slot and position", async () => {
    await db.query("CREATE TABLE resynced (id int PRIMARY KEY, v text)");
    await db.query("CREATE TABLE other (id int PRIMARY KEY)");
    await db.query("INSERT INTO resynced VALUES (1, 'a'), (2, 'b')");
    const s = source("resync", ["resynced", "other"]);
    const slot = `${db.name}_resync`;
    const session = await s.snapshot({});
    await readSnapshot(session.chunks);
    const stream = openStream(s, session.position);
    try {
      await db.query("INSERT INTO resynced VALUES (3, 'c')");
      await stream.until((e) => e.some((x) => x.op === "insert"));
      const flushBefore = await confirmedFlush(slot);
      const resync = await s.snapshot({ tables: [{ namespace: "public", name: "resynced" }], resync: true });
      expect(resync.schemas.map((x) => x.table.name)).toEqual(["resynced"]);
      expect(parseLsn(resync.position)).toBeGreaterThan(parseLsn(session.position));
      const rows = await readSnapshot(resync.chunks);
      expect(rows.get("public.resynced")).toEqual([
        { id: 1, v: "a" },
        { id: 2, v: "b" },
        { id: 3, v: "c" },
      ]);
      // the slot is the same one, still streaming, not moved
      expect(await confirmedFlush(slot)).toBe(flushBefore);
      await db.query("INSERT INTO resynced VALUES (4, 'd')");
      const events = await stream.until((e) => e.filter((x) => x.op === "insert").length >= 2);
      expect(events.flatMap((e) => (e.op === "insert" ? [e.after.id] : []))).toEqual([3, 4]);
    } finally {
      await stream.stop();
    }
  });

  it("a resync snapshot's position is exact: it holds what committed before it and nothing committed at or after it", async () => {
    await db.query("CREATE TABLE exact_rs (id int PRIMARY KEY)");
    const table = { namespace: "public", name: "exact_rs" };
    const s = source("exact", ["exact_rs"]);
    const session = await s.snapshot({});
    await readSnapshot(session.chunks);
    const stream = openStream(s, session.position);
    const inFlight = new pg.Client({ connectionString: db.url });
    await inFlight.connect();
    try {
      // a transaction in flight when the resync snapshot starts (its slot waits for it to end)
      await inFlight.query("BEGIN");
      await inFlight.query("INSERT INTO exact_rs VALUES (1)");
      const starting = s.snapshot({ tables: [table], resync: true });
      const committed = new Promise((resolve) => setTimeout(resolve, 300)).then(() => inFlight.query("COMMIT"));
      const resync = await starting;
      await committed;
      expect(resync.exact).toBe(true);
      // committed after the snapshot was exported, before its rows are read
      await db.query("INSERT INTO exact_rs VALUES (2)");
      const rows = await readSnapshot(resync.chunks);
      const held = new Set((rows.get("public.exact_rs") ?? []).map((r) => r.id));
      expect([...held]).toEqual([1]);
      const events = await stream.until((e) => e.filter((x) => x.op === "insert" && x.table.name === "exact_rs").length >= 2);
      const inserts = events.filter((e) => e.op === "insert" && e.table.name === "exact_rs");
      // the contract the runtime relies on: in the snapshot iff the commit is before its position
      for (const event of inserts) {
        const commit = parseLsn(event.commitPosition ?? "");
        expect(commit < parseLsn(resync.position), `insert ${String(event.op === "insert" ? event.after.id : "")}`).toBe(held.has(event.op === "insert" ? event.after.id : undefined));
      }
      // the temporary slot went with the snapshot's connection
      const temporary = await db.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE $1", [`${db.name}_exact_resync_%`]);
      expect(temporary.rows).toEqual([]);
    } finally {
      await inFlight.end();
      await stream.stop();
    }
  });

  it("currentPosition reports the server's WAL position", async () => {
    const s = source("pos", ["acked"]);
    const before = parseLsn(await s.currentPosition());
    await db.query("INSERT INTO acked VALUES (100)");
    expect(parseLsn(await s.currentPosition())).toBeGreaterThan(before);
  });

  it("a missing slot is position-lost with what to do", async () => {
    const s = source("nosuchslot", ["acked"]);
    const iterator = s.stream("0/16B3748", {})[Symbol.asyncIterator]();
    const failure = await iterator.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ZeroEtlError);
    expect((failure as ZeroEtlError).code).toBe("position-lost");
    expect((failure as ZeroEtlError).message).toMatch(/slot .*nosuchslot does not exist.*snapshot/);
  });

  it("preflight names the missing publication and replica identity, and fix repairs them", async () => {
    await db.query("CREATE TABLE keyless (a int, b text)");
    await db.query("CREATE TABLE \"Mixed Case\" (id int PRIMARY KEY)");
    const s = source("pre", ["keyless", "Mixed Case"]);
    const report = await s.preflight({ fix: false });
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    expect(byId.get("postgres.wal_level")).toMatchObject({ ok: true, message: "wal_level is logical" });
    expect(byId.get("postgres.replication_privilege")?.ok).toBe(true);
    expect(byId.get("postgres.select_privilege")?.ok).toBe(true);
    expect(byId.get("postgres.publication")).toMatchObject({
      ok: false,
      fixable: true,
      fixed: false,
      message: "publication pub_pre does not exist",
      // the keyless table stays out of the publication until its identity is fixed: publishing it would break the application's updates
      remedy: 'run CREATE PUBLICATION "pub_pre" FOR TABLE "public"."Mixed Case" WITH (publish_via_partition_root = true);',
    });
    expect(byId.get("postgres.replica_identity")).toMatchObject({
      ok: false,
      fixable: true,
      message:
        "tables without a usable replica identity, left out of replication so that the application's updates and deletes on them keep working: public.keyless",
      remedy: 'run ALTER TABLE "public"."keyless" REPLICA IDENTITY FULL;',
    });
    expect(byId.get("postgres.slot")).toMatchObject({ ok: true });
    expect(isPreflightPassing(report)).toBe(false);

    const fixed = await s.preflight({ fix: true });
    const fixedById = new Map(fixed.checks.map((c) => [c.id, c]));
    expect(fixedById.get("postgres.publication")).toMatchObject({ ok: true, fixed: true });
    expect(fixedById.get("postgres.replica_identity")).toMatchObject({ ok: true, fixed: true });
    const identity = await db.query<{ relreplident: string }>("SELECT relreplident::text AS relreplident FROM pg_class WHERE relname = 'keyless'");
    expect(identity.rows[0]?.relreplident).toBe("f");
    const published = await db.query<{ tablename: string }>("SELECT tablename::text AS tablename FROM pg_publication_tables WHERE pubname = 'pub_pre' ORDER BY 1");
    expect(published.rows.map((r) => r.tablename)).toEqual(["Mixed Case", "keyless"]);

    const again = await s.preflight({ fix: false });
    // other pipelines' inactive slots in this database are listed as warnings (postgres.other_slots), not failures
    expect(again.checks.filter((c) => !c.ok && c.id !== "postgres.other_slots")).toEqual([]);
    expect(isPreflightPassing(again)).toBe(true);
  });

  it("an unreachable server gives a retryable connection-failed error without the password", async () => {
    const s = createPostgresSource({ url: "postgres://alice:s3cr3t-pw@127.0.0.1:1/nowhere", pipeline: "unreachable" });
    const error = await s.introspect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ZeroEtlError);
    expect((error as ZeroEtlError).code).toBe("connection-failed");
    expect((error as ZeroEtlError).retryable).toBe(true);
    expect((error as ZeroEtlError).message).toContain("127.0.0.1:1/nowhere");
    expect(JSON.stringify(error) + String((error as Error).message) + String(((error as Error).cause as Error | undefined)?.message)).not.toContain("s3cr3t");
  });

  it("rejects invalid options with ConfigError naming the field", () => {
    expect(() => createPostgresSource({ url: "mysql://x@y/z", pipeline: "p" })).toThrow(ConfigError);
    expect(() => createPostgresSource({ url: "mysql://x@y/z", pipeline: "p" })).toThrow("source.url: expected a postgres:// URL");
    expect(() => createPostgresSource({ url: "postgres://x@y/z", pipeline: "p", slot: "Bad-Slot" })).toThrow(/source\.slot/);
    expect(() => createPostgresSource({ url: "postgres://x@y/z", pipeline: "p", snapshotChunkRows: 0 })).toThrow(/source\.snapshotChunkRows/);
    expect(createPostgresSource({ url: "postgres://x@y/z", pipeline: "orders-sync" }).kind).toBe("postgres");
  });
});
