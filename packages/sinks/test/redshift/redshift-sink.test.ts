import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { ChangeEvent, PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { createRedshiftSink } from "../../src/redshift/index.js";
import type { RedshiftSink } from "../../src/redshift/index.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";
import { createPgTranslatingRunner } from "../../../../test-support/redshift/pg-translating-runner.js";
import { checkRedshiftSyntax } from "../../../../test-support/redshift/redshift-syntax-check.js";

const IAM_ROLE = "arn:aws:iam::123456789012:role/zeroetl-copy";
const table = { namespace: "app", name: "Orders" };

const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["Id"],
  columns: [
    { name: "Id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "Label", type: { kind: "string", maxLength: 20 }, nullable: true },
    { name: "Amount", type: { kind: "decimal", precision: 38, scale: 6 }, nullable: true },
    { name: "At", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
    { name: "Blob", type: { kind: "bytes" }, nullable: true },
    { name: "Ok", type: { kind: "bool" }, nullable: true },
  ],
};

const docs: TableSchema = {
  table: { namespace: "app", name: "docs" },
  version: 1,
  primaryKey: ["k"],
  columns: [
    { name: "k", type: { kind: "string", maxLength: 10 }, nullable: false },
    { name: "body", type: { kind: "json" }, nullable: true },
    { name: "n", type: { kind: "decimal" }, nullable: true },
    { name: "title", type: { kind: "string", maxLength: 10 }, nullable: true },
  ],
};

let db: TestDatabase;
let s3: LocalS3<S3Client>;
const log: string[] = [];
const sinks: RedshiftSink[] = [];

function newSink(maxTransactionStatements?: number): RedshiftSink {
  const sink = createRedshiftSink({
    url: "redshift://unused@127.0.0.1:5439/dev",
    schema: "warehouse",
    staging: { uri: "s3://stage-bucket/zetl", iamRole: IAM_ROLE, endpoint: s3.endpoint, forcePathStyle: true },
    statementRunner: () => createPgTranslatingRunner({ url: db.url, s3: { endpoint: s3.endpoint }, log, ...(maxTransactionStatements === undefined ? {} : { maxTransactionStatements }) }),
  });
  sinks.push(sink);
  return sink;
}

function checkpoint(position: string): PipelineCheckpoint {
  return { pipeline: "rs", phase: "streaming", position, tables: { "app.Orders": { state: "synced", rows: 3, updatedAt: "2026-01-01T00:00:00.000Z", lastPosition: position } }, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint;
}

async function stagedObjects(): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: "stage-bucket" }));
  return (listed.Contents ?? []).map((o) => o.Key ?? "");
}

beforeAll(async () => {
  process.env["AWS_ACCESS_KEY_ID"] = "S3RVER";
  process.env["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
  db = await createTestDatabase("rs_sink");
  s3 = await startS3rver((config) => new S3Client(config));
  await s3.client.send(new CreateBucketCommand({ Bucket: "stage-bucket" }));
}, 60_000);

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  s3.client.destroy();
  await s3.stop();
  await db.drop();
});

describe("redshift sink on PostgreSQL through the translating runner", () => {
  it("creates the table with Redshift's types and names, stages, copies and applies upserts, key changes and deletes with the checkpoint; replays without duplicates", async () => {
    const sink = newSink();
    expect(await sink.open({ pipeline: "rs" })).toBeUndefined();
    await sink.prepare(schema);
    const report = sink.describeTable(table);
    expect(report?.table).toBe("orders");
    expect(report?.columns.map((c) => `${c.name} ${c.type}`)).toEqual(["id BIGINT", "label VARCHAR(80)", "amount DECIMAL(38,6)", "at TIMESTAMPTZ", "blob VARBYTE(1024000)", "ok BOOLEAN"]);
    const snap = await sink.writeSnapshot({
      table,
      schema,
      chunk: 0,
      last: true,
      rowsRead: 3,
      rows: [
        { Id: 1n, Label: "one", Amount: "12345678901234567890123456789012.123456", At: "2024-02-03T04:05:06.123456Z", Blob: new Uint8Array([0, 255, 7]), Ok: true },
        { Id: 2n, Label: "two", Amount: "-0.5", At: null, Blob: null, Ok: false },
        { Id: 3n, Label: "über", Amount: null, At: "1999-12-31T23:59:59Z", Blob: null, Ok: null },
      ],
    });
    expect(snap).toEqual({ accepted: 3, rejected: [] });
    await sink.flush(checkpoint("p1"));
    const events: ChangeEvent[] = [
      { op: "update", table, position: "p2", key: { Id: 2n }, after: { Id: 20n, Label: "twenty", Amount: "1", At: null, Blob: null, Ok: true } },
      { op: "delete", table, position: "p3", key: { Id: 3n } },
      { op: "insert", table, position: "p4", after: { Id: 4n, Label: "four", Amount: "4.25", At: null, Blob: null, Ok: null } },
      { op: "update", table, position: "p5", key: { Id: 4n }, after: { Id: 4n, Label: "four!", Amount: "4.5", At: null, Blob: null, Ok: null } },
    ];
    await sink.write({ events });
    await sink.flush(checkpoint("p5"));
    // a replay of the same changes (as after a crash before the source's acknowledgement) changes nothing
    await sink.write({ events });
    await sink.flush(checkpoint("p5"));
    const rows = await db.query("SELECT id::text, label, amount::text, at, encode(blob, 'hex') AS blob, ok FROM warehouse.orders ORDER BY orders.id");
    expect(rows.rows).toEqual([
      { id: "1", label: "one", amount: "12345678901234567890123456789012.123456", at: new Date("2024-02-03T04:05:06.123Z"), blob: "00ff07", ok: true },
      { id: "4", label: "four!", amount: "4.500000", at: null, blob: null, ok: null },
      { id: "20", label: "twenty", amount: "1.000000", at: null, blob: null, ok: true },
    ]);
    const micros = await db.query("SELECT to_char(at, 'US') AS us FROM warehouse.orders WHERE id = 1");
    expect(micros.rows[0]).toEqual({ us: "123456" });
    const state = await db.query("SELECT table_name, state, last_position FROM warehouse._zeroetl_table_state WHERE pipeline = 'rs'");
    expect(state.rows).toEqual([{ table_name: "app.Orders", state: "synced", last_position: "p5" }]);
    expect(await stagedObjects()).toEqual([]);
    const reopened = newSink();
    expect((await reopened.open({ pipeline: "rs" }))?.position).toBe("p5");
  });

  it("keeps the target's values of columns an update left out (unchanged TOAST), also across two partial updates of one key", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "rs" });
    await sink.prepare(schema);
    const receipt = await sink.write({
      events: [
        { op: "update", table, position: "p6", key: { Id: 1n }, after: { Id: 1n, Amount: "2", At: null, Ok: false }, unchanged: ["Label", "Blob"] },
        { op: "update", table, position: "p7", key: { Id: 4n }, after: { Id: 4n, Label: "FOUR", Amount: "4", At: null, Ok: true }, unchanged: ["Blob"] },
        { op: "update", table, position: "p8", key: { Id: 4n }, after: { Id: 4n, Amount: "5", At: null, Ok: true }, unchanged: ["Label", "Blob"] },
      ],
    });
    expect(receipt).toEqual({ accepted: 3, rejected: [] });
    await sink.flush(checkpoint("p8"));
    const rows = await db.query("SELECT id::text, label, amount::text, encode(blob, 'hex') AS blob, ok FROM warehouse.orders WHERE id IN (1, 4) ORDER BY orders.id");
    expect(rows.rows).toEqual([
      { id: "1", label: "one", amount: "2.000000", blob: "00ff07", ok: false },
      { id: "4", label: "FOUR", amount: "5.000000", blob: null, ok: true },
    ]);
    expect(log.some((s) => s.startsWith('UPDATE "zetl_p_'))).toBe(true);
  });

  it("stages SUPER tables as JSON lines, keeps numbers exact, truncates and grows a VARCHAR in place", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "rs-docs" });
    await sink.prepare(docs);
    await sink.write({
      events: [
        { op: "insert", table: docs.table, position: "1", after: { k: "a", body: '{"x": 1.000000000000000000001, "y": [1, 2]}', n: "123.4567890123" } },
        { op: "insert", table: docs.table, position: "2", after: { k: "b", body: null, n: null } },
      ],
    });
    await sink.flush({ pipeline: "rs-docs", phase: "streaming", position: "2", tables: {}, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint);
    const rows = await db.query("SELECT k, body::text AS body, n::text AS n FROM warehouse.docs ORDER BY k");
    expect(rows.rows).toEqual([
      { k: "a", body: '{"x": 1.000000000000000000001, "y": [1, 2]}', n: "123.4567890123" },
      { k: "b", body: null, n: null },
    ]);
    const widen = (s: TableSchema, name: string, maxLength: number): TableSchema["columns"] => s.columns.map((c) => (c.name === name ? { ...c, type: { kind: "string" as const, maxLength } } : c));
    const wider: TableSchema = { ...docs, version: 2, columns: [...widen(docs, "title", 50), { name: "extra", type: { kind: "int", bits: 32, signed: true }, nullable: true }] };
    await sink.prepare(wider);
    expect(sink.describeTable(docs.table)?.columns.map((c) => `${c.name} ${c.type}`)).toEqual(["k VARCHAR(40)", "body SUPER", "n DECIMAL(38,10)", "title VARCHAR(200)", "extra INTEGER"]);
    // a key column's type is never altered in Redshift
    await expect(sink.prepare({ ...wider, version: 3, columns: widen(wider, "k", 50) })).rejects.toMatchObject({ code: "schema-refused" });
    await sink.resetTable(docs.table);
    await sink.write({ events: [{ op: "insert", table: docs.table, position: "3", after: { k: "c", body: "[]", n: "1", title: "0123456789".repeat(5), extra: 7 } }] });
    await sink.flush({ pipeline: "rs-docs", phase: "streaming", position: "3", tables: {}, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint);
    expect((await db.query("SELECT k, title, extra FROM warehouse.docs")).rows).toEqual([{ k: "c", title: "0123456789".repeat(5), extra: 7 }]);
    const narrower: TableSchema = { ...wider, version: 4, columns: wider.columns.map((c) => (c.name === "extra" ? { ...c, type: { kind: "string" as const } } : c)) };
    await expect(sink.prepare(narrower)).rejects.toMatchObject({ code: "schema-refused", table: "app.docs" });
  });

  it("rejects a row that does not fit its column to the dead-letter queue and goes on", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "rs-bad" });
    const narrow: TableSchema = { table: { namespace: "app", name: "narrow" }, version: 1, primaryKey: ["id"], columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }, { name: "d", type: { kind: "decimal", precision: 5, scale: 2 }, nullable: true }] };
    await sink.prepare(narrow);
    const receipt = await sink.write({ events: [
      { op: "insert", table: narrow.table, position: "1", after: { id: 1, d: "123456.7" } },
      { op: "insert", table: narrow.table, position: "2", after: { id: 2, d: "1.5" } },
      // numbers an INTEGER column cannot hold: refused with the row, not at the flush (which failed the whole batch before)
      { op: "insert", table: narrow.table, position: "3", after: { id: 2 ** 31, d: null } },
      { op: "insert", table: narrow.table, position: "4", after: { id: 3.5, d: null } },
    ] });
    expect(receipt.accepted).toBe(1);
    expect(receipt.rejected[0]?.reason).toMatch(/^column d \(DECIMAL\(5,2\)\)/);
    expect(receipt.rejected[0]?.reason).not.toContain("123456");
    expect(receipt.rejected.slice(1).map((r) => r.reason)).toEqual(["column id (INTEGER): not a 32-bit integer", "column id (INTEGER): not a 32-bit integer"]);
    await sink.flush({ pipeline: "rs-bad", phase: "streaming", position: "2", tables: {}, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint);
    expect((await db.query("SELECT id, d::text AS d FROM warehouse.narrow")).rows).toEqual([{ id: 2, d: "1.50" }]);
  });

  it("splits a flush into transactions of at most 40 statements, the checkpoint in the last", async () => {
    const sink = newSink(40);
    await sink.open({ pipeline: "rs-many" });
    const schemas: TableSchema[] = Array.from({ length: 9 }, (_, i) => ({ table: { namespace: "many", name: `t${i}` }, version: 1, primaryKey: ["id"], columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }] }));
    for (const s of schemas) await sink.prepare(s);
    const before = log.length;
    await sink.write({ events: schemas.flatMap((s) => [{ op: "insert" as const, table: s.table, position: "1", after: { id: 1 } }, { op: "delete" as const, table: s.table, position: "1", key: { id: 2 } }]) });
    await sink.flush({ pipeline: "rs-many", phase: "streaming", position: "1", tables: {}, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint);
    const issued = log.slice(before);
    expect(issued.length).toBeGreaterThan(40);
    for (const s of schemas) expect((await db.query(`SELECT id FROM warehouse.${s.table.name}`)).rows).toEqual([{ id: 1 }]);
  });

  it("every statement issued parses as Redshift (sqlglot's redshift dialect plus the deny-list)", async () => {
    expect(log.length).toBeGreaterThan(20);
    expect(log.some((s) => s.startsWith("COPY ") && s.includes("FORMAT AS PARQUET"))).toBe(true);
    expect(log.some((s) => s.startsWith("COPY ") && s.includes("FORMAT AS JSON"))).toBe(true);
    expect(log.some((s) => / ALTER COLUMN "title" TYPE VARCHAR\(200\)$/.test(s))).toBe(true);
    expect(await checkRedshiftSyntax([...new Set(log)])).toEqual([]);
  });

  it("the syntax check catches statements Redshift rejects", async () => {
    const failures = await checkRedshiftSyntax([
      'INSERT INTO "warehouse"."orders" ("id") VALUES (1) ON CONFLICT ("id") DO NOTHING',
      'ALTER TABLE "warehouse"."orders" ALTER COLUMN "id" TYPE integer',
      'CREATE TABLE "warehouse"."x" ("doc" jsonb)',
      'TRUNCATE "warehouse"."orders"',
      'CREATE TABLE "warehouse"."x" ("id" BIGINT) SORTKEY AUTO x',
      'DELETE FROM "warehouse"."orders" USING "s" WHERE "warehouse"."orders"."id" = "s"."id"',
    ]);
    expect(failures.map((f) => f.reason.split(":")[0])).toEqual(["denied", "denied", "denied", "denied", "sqlglot"]);
  });
});
