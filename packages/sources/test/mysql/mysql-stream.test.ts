import type { ChangeEvent, InsertEvent, SchemaChangeEvent, Source, UpdateEvent } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { createMysqlSource, mysqlPositionCodec } from "@zero-etl/sources/mysql";
import { openBinlogClient } from "../../src/mysql/binlog-client.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_MYSQL_URL, createTestMysqlDatabase, type TestMysqlDatabase } from "../../../../test-support/mysql.js";
import { collectBatches, eventsOf } from "./collect-changes.js";

const serverIdBase = 3_000_000 + Math.floor(Math.random() * 1_000_000);
let serverIdSeq = 0;

const rowsOf = (events: readonly ChangeEvent[], table: string): ChangeEvent[] => events.filter((e) => e.table.name === table);
const idsOf = (events: readonly ChangeEvent[], table: string): unknown[] =>
  rowsOf(events, table)
    .filter((e): e is InsertEvent => e.op === "insert")
    .map((e) => e.after.id);

describe("mysql source: streaming", () => {
  let db: TestMysqlDatabase;
  const sources: Source[] = [];
  const open = (extra: { maxBatchEvents?: number; heartbeatSeconds?: number } = {}): Source => {
    const source = createMysqlSource({ url: db.url, pipeline: `stream-${db.name}`, serverId: serverIdBase + serverIdSeq++, ...extra });
    sources.push(source);
    return source;
  };
  beforeAll(async () => {
    db = await createTestMysqlDatabase("mystream");
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.close();
  });
  afterAll(async () => {
    await db.drop();
  });

  it("delivers a multi-table transaction in one batch, nothing of a rollback, and heartbeats when idle", async () => {
    await db.query("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2)); CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT)");
    const source = open({ heartbeatSeconds: 0.2 });
    const from = await source.currentPosition();
    await db.query("BEGIN; INSERT INTO orders VALUES (1, '10.00'); INSERT INTO order_lines VALUES (1, 1), (2, 1); UPDATE orders SET total = '12.50' WHERE id = 1; COMMIT");
    await db.query("BEGIN; INSERT INTO orders VALUES (2, '99.00'); INSERT INTO order_lines VALUES (3, 2); ROLLBACK");
    await db.query("INSERT INTO orders VALUES (3, '1.00')");
    // wait for an idle heartbeat: an empty batch that says the source is caught up
    const batches = await collectBatches(source, from, (events, all) => idsOf(events, "orders").includes(3) && all[all.length - 1]?.caughtUp === true && all[all.length - 1]?.events.length === 0);
    const events = eventsOf(batches);
    expect(idsOf(events, "orders")).toEqual([1, 3]);
    expect(idsOf(events, "order_lines")).toEqual([1, 2]);
    const first = batches.find((b) => b.events.some((e) => e.op === "insert" && e.after.id === 1 && e.table.name === "orders"));
    const txId = first?.events[0]?.transactionId;
    expect(txId).toMatch(/^\d+-\d+-\d+$/);
    // The whole transaction sits in one batch (possibly with later transactions after it).
    const tx = events.filter((e) => e.transactionId === txId);
    expect(tx.map((e) => `${e.table.name}:${e.op}`)).toEqual(["orders:insert", "order_lines:insert", "order_lines:insert", "orders:update"]);
    expect(first?.events.slice(0, 4)).toEqual(tx);
    expect(tx.every((e) => typeof e.commitTime === "number" && Math.abs((e.commitTime ?? 0) - Date.now()) < 600_000)).toBe(true);
    const update = tx[3] as UpdateEvent;
    expect(update.before).toEqual({ id: 1, total: "10.00" });
    expect(update.after).toEqual({ id: 1, total: "12.50" });
    // The checkpoint of the transaction's batch lies after it and carries the GTID set.
    const checkpoint = mysqlPositionCodec.parse(first?.checkpoint ?? "");
    expect(mysqlPositionCodec.compare(checkpoint, mysqlPositionCodec.parse(from))).toBeGreaterThan(0);
    expect(checkpoint.gtid).toMatch(/^\d+-\d+-\d+/);
    const last = batches[batches.length - 1];
    expect(last?.events).toEqual([]);
    expect(last?.caughtUp).toBe(true);
  });

  it("decodes each row with its own schema when ALTERs happened before reading", async () => {
    await db.query("CREATE TABLE evolve (id INT PRIMARY KEY, a VARCHAR(10))");
    const source = open();
    const from = await source.currentPosition();
    await db.query("INSERT INTO evolve VALUES (1, 'one')");
    await db.query("ALTER TABLE evolve ADD COLUMN b INT NULL");
    await db.query("INSERT INTO evolve VALUES (2, 'two', 22)");
    await db.query("ALTER TABLE evolve DROP COLUMN a");
    await db.query("INSERT INTO evolve VALUES (3, 33)");
    await db.query("TRUNCATE TABLE evolve");
    const batches = await collectBatches(source, from, (events) => events.some((e) => e.op === "truncate"));
    const events = rowsOf(eventsOf(batches), "evolve");
    expect(events.map((e) => e.op)).toEqual(["schema", "insert", "schema", "insert", "schema", "insert", "truncate"]);
    const schemas = events.filter((e): e is SchemaChangeEvent => e.op === "schema");
    expect(schemas.map((s) => s.schema.columns.map((c) => c.name))).toEqual([["id", "a"], ["id", "a", "b"], ["id", "b"]]);
    expect(schemas.map((s) => s.schema.version)).toEqual([2, 3, 4]);
    expect(schemas[1]?.previous?.columns.map((c) => c.name)).toEqual(["id", "a"]);
    expect(schemas[2]?.schema.primaryKey).toEqual(["id"]);
    const inserts = events.filter((e): e is InsertEvent => e.op === "insert").map((e) => e.after);
    expect(inserts).toEqual([{ id: 1, a: "one" }, { id: 2, a: "two", b: 22 }, { id: 3, b: 33 }]);
  });

  it("turns DDL that changes rows without row events into table changes, each ending its batch", async () => {
    await db.query("CREATE TABLE osc (id INT PRIMARY KEY, v INT); CREATE TABLE plain (id INT PRIMARY KEY)");
    const source = open();
    const from = await source.currentPosition();
    await db.query(`
      INSERT INTO osc VALUES (1, 1);
      ALTER TABLE osc ADD COLUMN d INT NOT NULL DEFAULT 42;
      ALTER TABLE plain ADD COLUMN n INT NULL, ADD INDEX (n);
      INSERT INTO plain VALUES (1, NULL);
      CREATE TABLE _osc_gho (PRIMARY KEY (id)) SELECT id, v, d FROM osc;
      RENAME TABLE osc TO _osc_del, _osc_gho TO osc;
      DROP TABLE _osc_del;
      INSERT INTO osc VALUES (2, 2, 2);`);
    const batches = await collectBatches(source, from, (events) => events.some((e) => e.op === "insert" && e.table.name === "osc" && e.after.id === 2));
    const changes = batches.flatMap((b) => (b.tableChanges ?? []).map((c) => `${c.kind} ${c.table.name}${c.kind === "refresh" ? `: ${c.reason}` : ""}`));
    expect(changes).toEqual([
      "refresh osc: column d added NOT NULL (existing rows take an implicit default)",
      "refresh _osc_gho: table created at the source",
      "dropped osc",
      "refresh _osc_del: renamed from " + db.name + ".osc",
      "dropped _osc_gho",
      "refresh osc: renamed from " + db.name + "._osc_gho",
      "dropped _osc_del",
    ]);
    for (const batch of batches) {
      for (const change of batch.tableChanges ?? []) {
        if (change.kind === "refresh") expect(change.position).toBe(batch.checkpoint);
        else expect(mysqlPositionCodec.compare(mysqlPositionCodec.parse(change.position), mysqlPositionCodec.parse(batch.checkpoint ?? ""))).toBeLessThan(0);
      }
    }
    const events = eventsOf(batches);
    // the rows CREATE ... SELECT copied are left to the re-read of _osc_gho
    expect(rowsOf(events, "_osc_gho")).toEqual([]);
    // an in-place ALTER is followed from the TABLE_MAPs (here the introspection at stream start already has it)
    expect(rowsOf(events, "plain").map((e) => e.op)).toEqual(["insert"]);
    // after the swap, the new osc starts afresh: a schema without `previous`, then its rows
    const swapped = rowsOf(events, "osc").slice(-2);
    expect(swapped.map((e) => e.op)).toEqual(["schema", "insert"]);
    expect((swapped[0] as SchemaChangeEvent).previous).toBeUndefined();
  });

  it("leaves to a resync snapshot the rows and table changes it already holds", async () => {
    const source = open();
    const from = await source.currentPosition();
    await db.query("CREATE TABLE late (v INT); INSERT INTO late VALUES (1), (1); CREATE TABLE other_late (id INT PRIMARY KEY)");
    const session = await source.snapshot({ tables: [{ namespace: db.name, name: "late" }], resync: true });
    for await (const chunk of session.chunks) expect(chunk.rows).toEqual([{ v: 1 }, { v: 1 }]);
    await db.query("INSERT INTO late VALUES (2); INSERT INTO other_late VALUES (1)");
    const batches = await collectBatches(source, from, (events) => events.some((e) => e.table.name === "other_late" && e.op === "insert"));
    // the keyless table's rows before the re-read are not streamed again, nor is its creation
    expect(rowsOf(eventsOf(batches), "late").filter((e) => e.op === "insert").map((e) => (e as InsertEvent).after)).toEqual([{ v: 2 }]);
    expect(batches.flatMap((b) => (b.tableChanges ?? []).map((c) => `${c.kind} ${c.table.name}`))).toEqual(["refresh other_late"]);
  });

  it("reports every replicated table of a dropped database as dropped", async () => {
    const other = await createTestMysqlDatabase("mydropdb");
    try {
      await other.query("CREATE TABLE one (id INT PRIMARY KEY); CREATE TABLE two (id INT PRIMARY KEY)");
      const source = createMysqlSource({ url: other.url, pipeline: `dropdb-${other.name}`, serverId: serverIdBase + serverIdSeq++ });
      sources.push(source);
      const from = await source.currentPosition();
      await other.query("INSERT INTO one VALUES (1)");
      let dropping: Promise<unknown> | undefined;
      // drop the database once the stream runs (it connects to it first)
      const batches = await collectBatches(source, from, (events, all) => {
        if (dropping === undefined && events.some((e) => e.op === "insert")) dropping = db.query(`DROP DATABASE \`${other.name}\``);
        return all.some((b) => (b.tableChanges ?? []).length > 0);
      });
      await dropping;
      const changes = batches.flatMap((b) => (b.tableChanges ?? []).map((c) => `${c.kind} ${c.table.name}`)).sort();
      expect(changes).toEqual(["dropped one", "dropped two"]);
    } finally {
      await other.drop();
    }
  });

  it("reports primary-key updates with the old key and deletes with key and before image", async () => {
    await db.query("CREATE TABLE keyed (id INT, region CHAR(2), v INT, PRIMARY KEY (region, id))");
    await db.query("INSERT INTO keyed VALUES (1, 'eu', 10)");
    const source = open();
    const from = await source.currentPosition();
    await db.query("UPDATE keyed SET id = 10, v = 11 WHERE id = 1");
    await db.query("DELETE FROM keyed WHERE id = 10");
    const batches = await collectBatches(source, from, (events) => events.some((e) => e.op === "delete"));
    const [update, del] = rowsOf(eventsOf(batches), "keyed");
    expect(update).toMatchObject({ op: "update", key: { region: "eu", id: 1 }, before: { id: 1, region: "eu", v: 10 }, after: { id: 10, region: "eu", v: 11 } });
    expect(del).toMatchObject({ op: "delete", key: { region: "eu", id: 10 }, before: { id: 10, region: "eu", v: 11 } });
  });

  it("streams a 100k-row transaction in bounded batches, checkpointing only after its commit", async () => {
    await db.query("CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), at DATETIME(6))");
    const source = open({ maxBatchEvents: 5_000 });
    const from = await source.currentPosition();
    await db.query("INSERT INTO big SELECT seq, CONCAT('name-', seq), seq / 100, '2024-01-01 00:00:00.000001' + INTERVAL seq SECOND FROM seq_1_to_100000");
    let rows = 0;
    let largest = 0;
    let sum = 0;
    const checkpoints: (string | undefined)[] = [];
    await collectBatches(source, from, (_events, batches) => {
      const batch = batches[batches.length - 1];
      const inserts = (batch?.events ?? []).filter((e): e is InsertEvent => e.op === "insert" && e.table.name === "big");
      rows += inserts.length;
      for (const e of inserts) sum += e.after.id as number;
      largest = Math.max(largest, batch?.events.length ?? 0);
      if (inserts.length > 0) checkpoints.push(batch?.checkpoint);
      (batch?.events as ChangeEvent[]).length = 0; // drop what we counted: the test holds no more than a batch
      return rows >= 100_000 && batch?.checkpoint !== checkpoints[0];
    }, 40_000);
    expect(rows).toBe(100_000);
    expect(sum).toBe((100_000 * 100_001) / 2);
    expect(largest).toBeLessThanOrEqual(5_000);
    expect(checkpoints.length).toBeGreaterThanOrEqual(20);
    // Every batch inside the transaction repeats the checkpoint from before it; only the last moves past the commit.
    expect(new Set(checkpoints.slice(0, -1)).size).toBe(1);
    const inside = mysqlPositionCodec.parse(checkpoints[0] ?? "");
    const end = mysqlPositionCodec.parse(checkpoints[checkpoints.length - 1] ?? "");
    expect(mysqlPositionCodec.compare(inside, mysqlPositionCodec.parse(from))).toBeGreaterThanOrEqual(0);
    expect(mysqlPositionCodec.compare(end, inside)).toBeGreaterThan(0);
  });

  it("stops reading the socket while the consumer lags (back-pressure)", async () => {
    await db.query("CREATE TABLE pressure (id INT PRIMARY KEY, pad VARCHAR(200))");
    const from = mysqlPositionCodec.parse(await open().currentPosition());
    await db.query("INSERT INTO pressure SELECT seq, REPEAT('p', 200) FROM seq_1_to_40000");
    const highWaterBytes = 256 * 1024;
    const client = await openBinlogClient({ url: TEST_MYSQL_URL, serverId: serverIdBase + serverIdSeq++, file: from.file, position: from.offset, highWaterBytes });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      // About 9 MB of row events wait at the server; only the high-water mark (plus one socket read) got in.
      expect(client.queuedBytes).toBeGreaterThanOrEqual(highWaterBytes);
      expect(client.queuedBytes).toBeLessThan(highWaterBytes + 2 * 1024 * 1024);
      let total = 0;
      for (let i = 0; i < 10_000 && total < 8_000_000; i++) {
        const events = await client.take();
        if (events === null) break;
        for (const e of events) total += e.length;
      }
      expect(total).toBeGreaterThanOrEqual(8_000_000);
    } finally {
      client.close();
    }
  });

  it("resumes from a checkpoint losing nothing and repeating at most the last transaction", async () => {
    await db.query("CREATE TABLE resume (id INT PRIMARY KEY)");
    const source = open({ maxBatchEvents: 1 });
    const from = await source.currentPosition();
    for (let i = 1; i <= 5; i++) await db.query("INSERT INTO resume VALUES (?)", [i]);
    const firstRun = await collectBatches(source, from, (events) => idsOf(events, "resume").includes(2));
    const stopAt = firstRun[firstRun.length - 1]?.checkpoint ?? from;
    expect(idsOf(eventsOf(firstRun), "resume")).toEqual([1, 2]);
    await source.close();
    const again = open();
    const second = await collectBatches(again, stopAt, (events) => idsOf(events, "resume").includes(5));
    // The batch that carried row 2 ended inside its transaction, so its checkpoint is the one after row 1's: row 2 repeats, nothing else.
    expect(idsOf(eventsOf(second), "resume")).toEqual([2, 3, 4, 5]);
    const afterAll = second[second.length - 1]?.checkpoint ?? "";
    const quiet = open({ heartbeatSeconds: 0.2 });
    const nothingNew = await collectBatches(quiet, afterAll, (_events, batches) => batches.some((b) => b.caughtUp === true), 5_000);
    expect(nothingNew.some((b) => b.caughtUp === true)).toBe(true);
    expect(idsOf(eventsOf(nothingNew), "resume")).toEqual([]);
  });

  it("emits non-transactional changes that a ROLLBACK could not undo, and nothing of the transactional part", async () => {
    await db.query("CREATE TABLE tx_part (id INT PRIMARY KEY) ENGINE=InnoDB; CREATE TABLE nontx_part (id INT PRIMARY KEY) ENGINE=MyISAM");
    const source = open();
    const from = await source.currentPosition();
    await db.query("INSERT INTO nontx_part VALUES (1)");
    await db.query("BEGIN; INSERT INTO tx_part VALUES (2); INSERT INTO nontx_part VALUES (2); ROLLBACK");
    await db.query("INSERT INTO tx_part VALUES (3)");
    const batches = await collectBatches(source, from, (events) => idsOf(events, "tx_part").includes(3));
    const events = eventsOf(batches);
    expect(idsOf(events, "nontx_part")).toEqual([1, 2]);
    expect(idsOf(events, "tx_part")).toEqual([3]);
    // The checkpoint after everything is past the MyISAM group ended by ROLLBACK as well.
    const resumed = await collectBatches(open({ heartbeatSeconds: 0.2 }), batches[batches.length - 1]?.checkpoint ?? "", (_events, all) => all.some((b) => b.caughtUp === true), 5_000);
    expect(resumed.some((b) => b.caughtUp === true)).toBe(true);
    expect(eventsOf(resumed).filter((e) => e.table.name.endsWith("_part"))).toEqual([]);
  });

  it("resumes by MariaDB GTID when the checkpoint's file is gone", async () => {
    await db.query("CREATE TABLE by_gtid (id INT PRIMARY KEY)");
    const source = open();
    await db.query("INSERT INTO by_gtid VALUES (1)");
    const from = mysqlPositionCodec.parse(await source.currentPosition());
    await db.query("INSERT INTO by_gtid VALUES (2)");
    await db.query("INSERT INTO by_gtid VALUES (3)");
    expect(from.gtid).toMatch(/^\d+-\d+-\d+/);
    const elsewhere = mysqlPositionCodec.serialize({ file: "promoted-replica-bin.000042", offset: 12345, gtid: from.gtid ?? "" });
    const batches = await collectBatches(source, elsewhere, (events) => idsOf(events, "by_gtid").includes(3));
    expect(idsOf(eventsOf(batches), "by_gtid")).toEqual([2, 3]);
    const checkpoint = mysqlPositionCodec.parse(batches[batches.length - 1]?.checkpoint ?? "");
    expect(checkpoint.file).toBe(from.file);
    expect(mysqlPositionCodec.compare(checkpoint, from)).toBeGreaterThan(0);
  });

  it("fails with position-lost for a purged binlog file", async () => {
    const source = open();
    const current = mysqlPositionCodec.parse(await source.currentPosition());
    const gone = mysqlPositionCodec.serialize({ file: current.file.replace(/\d+$/, "000000"), offset: 4 });
    const error = await collectBatches(source, gone, () => true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ZeroEtlError);
    expect((error as ZeroEtlError).code).toBe("position-lost");
    expect((error as ZeroEtlError).message).toContain("000000");
  });
});
