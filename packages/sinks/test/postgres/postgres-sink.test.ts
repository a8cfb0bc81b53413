import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { ChangeEvent, PipelineCheckpoint, TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import type { PostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

let db: TestDatabase;
let reader: pg.Client;
const sinks: PostgresSink[] = [];

beforeAll(async () => {
  db = await createTestDatabase("pgsink");
  // every value read back as the server's text, so comparisons are exact
  reader = new pg.Client({ connectionString: db.url, types: { getTypeParser: () => (value: string) => value } });
  await reader.connect();
  await reader.query("SET TimeZone = 'UTC'");
  await reader.query('CREATE SCHEMA "Ware House"');
});

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  await reader?.end();
  await db?.drop();
});

function newSink(schema = "public"): PostgresSink {
  const sink = createPostgresSink({ url: db.url, schema });
  sinks.push(sink);
  return sink;
}

function checkpoint(position: string, pipeline = "p1", tables: PipelineCheckpoint["tables"] = {}): PipelineCheckpoint {
  return { pipeline, phase: "streaming", position, tables, savedAt: "2026-01-02T03:04:05.678Z" };
}

async function rows(sqlText: string, values: unknown[] = []): Promise<Record<string, string | null>[]> {
  return (await reader.query(sqlText, values)).rows as Record<string, string | null>[];
}

describe("postgres sink: types", () => {
  const table: TableRef = { namespace: "src", name: "all_types" };
  const schema: TableSchema = {
    table,
    version: 1,
    primaryKey: ["id"],
    columns: [
      { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "b", type: { kind: "bool" }, nullable: true },
      { name: "i8", type: { kind: "int", bits: 8, signed: true }, nullable: true },
      { name: "u16", type: { kind: "int", bits: 16, signed: false }, nullable: true },
      { name: "i32", type: { kind: "int", bits: 32, signed: true }, nullable: true },
      { name: "u32", type: { kind: "int", bits: 32, signed: false }, nullable: true },
      { name: "u64", type: { kind: "int", bits: 64, signed: false }, nullable: true },
      { name: "dec", type: { kind: "decimal", precision: 38, scale: 10 }, nullable: true },
      { name: "num", type: { kind: "decimal" }, nullable: true },
      { name: "f32", type: { kind: "float", bits: 32 }, nullable: true },
      { name: "f64", type: { kind: "float", bits: 64 }, nullable: true },
      { name: "s", type: { kind: "string" }, nullable: true },
      { name: "vc", type: { kind: "string", maxLength: 5 }, nullable: true },
      { name: "bin", type: { kind: "bytes" }, nullable: true },
      { name: "d", type: { kind: "date" }, nullable: true },
      { name: "t", type: { kind: "time", precision: 6, withZone: false }, nullable: true },
      { name: "ttz", type: { kind: "time", precision: 6, withZone: true }, nullable: true },
      { name: "ts", type: { kind: "timestamp", precision: 6, withZone: false }, nullable: true },
      { name: "tstz", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
      { name: "iv", type: { kind: "interval" }, nullable: true },
      { name: "u", type: { kind: "uuid" }, nullable: true },
      { name: "j", type: { kind: "json" }, nullable: true },
      { name: "l", type: { kind: "list", element: { kind: "int", bits: 64, signed: true } }, nullable: true },
      { name: "st", type: { kind: "struct", fields: [{ name: "name", type: { kind: "string" }, nullable: true }, { name: "raw", type: { kind: "bytes" }, nullable: true }] }, nullable: true },
      { name: "g", type: { kind: "geometry" }, nullable: true },
    ],
  };

  it("creates the table with every mapped type and reads values back exactly", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "types" });
    await sink.prepare(schema);
    const types = await rows(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = 'public.all_types'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(Object.fromEntries(types.map((r) => [r.name, r.type]))).toEqual({
      id: "bigint", b: "boolean", i8: "smallint", u16: "integer", i32: "integer", u32: "bigint", u64: "numeric(20,0)", dec: "numeric(38,10)", num: "numeric",
      f32: "real", f64: "double precision", s: "text", vc: "character varying(5)", bin: "bytea", d: "date", t: "time(6) without time zone",
      ttz: "time(6) with time zone", ts: "timestamp(6) without time zone", tstz: "timestamp(6) with time zone", iv: "interval", u: "uuid", j: "jsonb",
      l: "jsonb", st: "jsonb", g: "bytea",
    });
    const max = {
      id: 9223372036854775807n, b: true, i8: -128, u16: 65535, i32: -2147483648, u32: 4294967295, u64: 18446744073709551615n,
      dec: "1234567890123456789012345678.1234567891", num: "-0.000000000000000000000000000000000000012345678901234567890123456789",
      f32: 1.5, f64: 1.7976931348623157e308, s: "héllo \"wörld\" ' \\ ✓", vc: "abcde", bin: new Uint8Array([0, 1, 254, 255]), d: "2024-02-29",
      t: "23:59:59.999999", ttz: "12:34:56.123456+05:30", ts: "2024-12-31T23:59:59.123456", tstz: "2024-06-01T10:20:30.654321Z",
      iv: "P1Y2M3DT4H5M6.789S", u: "123e4567-e89b-12d3-a456-426614174000", j: '{"n": 12345678901234567890.123456789, "a": [1, null]}',
      l: [9223372036854775807n, null, -1n], st: { name: "x", raw: new Uint8Array([104, 105]) }, g: new Uint8Array([1, 1, 0, 0, 0]),
    };
    const min = { id: -9223372036854775808n, b: false, i8: 127, u16: 0, i32: 2147483647, u32: 0, u64: 0n, dec: "-9999999999999999999999999999.9999999999", num: "NaN", f32: -0, f64: Number.NEGATIVE_INFINITY, s: "", vc: "", bin: new Uint8Array(0), d: "0001-01-01", t: "00:00:00", ttz: "00:00:00+00:00", ts: "0001-01-01T00:00:00", tstz: "infinity", iv: "PT0S", u: "00000000-0000-0000-0000-000000000000", j: "[]", l: [], st: { name: null, raw: null }, g: new Uint8Array([0]) };
    const nulls = Object.fromEntries(schema.columns.map((c) => [c.name, null] as const));
    await sink.writeSnapshot({ table, schema, rows: [max, min, { ...nulls, id: 0n }], chunk: 0, last: true, rowsRead: 3 });
    await sink.flush(checkpoint("1", "types"));
    const got = await rows(`SELECT * FROM public.all_types ORDER BY id`);
    expect(got[0]).toMatchObject({ id: "-9223372036854775808", u64: "0", dec: "-9999999999999999999999999999.9999999999", num: "NaN", f64: "-Infinity", bin: "\\x", d: "0001-01-01", ts: "0001-01-01 00:00:00", tstz: "infinity", iv: "00:00:00", j: "[]", l: "[]", st: '{"raw": null, "name": null}', b: "f", i8: "127", f32: "-0" });
    expect(got[1]).toEqual({ ...Object.fromEntries(Object.keys(nulls).map((k) => [k, null])), id: "0" });
    expect(got[2]).toEqual({
      id: "9223372036854775807", b: "t", i8: "-128", u16: "65535", i32: "-2147483648", u32: "4294967295", u64: "18446744073709551615",
      dec: "1234567890123456789012345678.1234567891", num: "-0.000000000000000000000000000000000000012345678901234567890123456789",
      f32: "1.5", f64: "1.7976931348623157e+308", s: "héllo \"wörld\" ' \\ ✓", vc: "abcde", bin: "\\x0001feff", d: "2024-02-29",
      t: "23:59:59.999999", ttz: "12:34:56.123456+05:30", ts: "2024-12-31 23:59:59.123456", tstz: "2024-06-01 10:20:30.654321+00",
      iv: "1 year 2 mons 3 days 04:05:06.789", u: "123e4567-e89b-12d3-a456-426614174000", j: '{"a": [1, null], "n": 12345678901234567890.123456789}',
      l: "[9223372036854775807, null, -1]", st: '{"raw": "aGk=", "name": "x"}', g: "\\x0101000000",
    });
  });
});

describe("postgres sink: applying changes", () => {
  const table: TableRef = { namespace: "src", name: "items" };
  const schema: TableSchema = {
    table,
    version: 1,
    primaryKey: ["id"],
    columns: [
      { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
      { name: "name", type: { kind: "string", maxLength: 10 }, nullable: true },
      { name: "big", type: { kind: "string" }, nullable: true },
      { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: true },
    ],
  };
  const view = async () => (await rows(`SELECT id, name, big, qty FROM public.items ORDER BY id`)).map((r) => `${r.id}:${r.name}:${r.big}:${r.qty}`);
  let sink: PostgresSink;

  beforeAll(async () => {
    sink = newSink();
    expect(await sink.open({ pipeline: "apply" })).toBeUndefined();
    await sink.prepare(schema);
    await sink.prepare(schema);
  });

  it("applies inserts, updates, deletes and key changes idempotently, durable only after flush", async () => {
    const events: ChangeEvent[] = [
      { op: "insert", table, position: "1", after: { id: 1, name: "a", big: "BIG1", qty: 1 } },
      { op: "insert", table, position: "2", after: { id: 2, name: "b", big: "BIG2", qty: 2 } },
      { op: "insert", table, position: "3", after: { id: 3, name: "c", big: null, qty: 3 } },
      { op: "update", table, position: "4", key: { id: 1 }, after: { id: 1, name: "a2", qty: 10 }, unchanged: ["big"] },
      { op: "update", table, position: "5", key: { id: 1 }, after: { id: 1, name: "a3", big: "BIG1b", qty: 11 } },
      { op: "delete", table, position: "6", key: { id: 2 } },
      { op: "update", table, position: "7", key: { id: 3 }, after: { id: 30, name: "c", big: null, qty: 3 } },
      { op: "insert", table, position: "8", after: { id: 2, name: "b2", big: null, qty: 20 } },
    ];
    const receipt = await sink.write({ events });
    expect(receipt).toEqual({ accepted: 8, rejected: [] });
    expect(await view()).toEqual([]);
    await sink.flush(checkpoint("8", "apply"));
    const expected = ["1:a3:BIG1b:11", "2:b2:null:20", "30:c:null:3"];
    expect(await view()).toEqual(expected);
    await sink.write({ events });
    await sink.flush(checkpoint("8", "apply"));
    expect(await view()).toEqual(expected);
  });

  it("keeps the target's value for unchanged TOAST columns, also across a key change", async () => {
    await sink.write({
      events: [
        { op: "update", table, position: "9", key: { id: 1 }, after: { id: 1, name: "t1", qty: 12 }, unchanged: ["big"] },
        { op: "update", table, position: "10", key: { id: 1 }, after: { id: 1, qty: 13 }, unchanged: ["big", "name"] },
        { op: "update", table, position: "11", key: { id: 30 }, after: { id: 31, name: "moved" }, unchanged: ["big", "qty"] },
      ],
    });
    await sink.flush(checkpoint("11", "apply"));
    expect(await view()).toEqual(["1:t1:BIG1b:13", "2:b2:null:20", "31:moved:null:3"]);
    // replaying a key change whose old key is already gone leaves the moved row as it is
    await sink.write({ events: [{ op: "update", table, position: "11", key: { id: 30 }, after: { id: 31, name: "moved" }, unchanged: ["big", "qty"] }] });
    await sink.flush(checkpoint("11", "apply"));
    expect(await view()).toEqual(["1:t1:BIG1b:13", "2:b2:null:20", "31:moved:null:3"]);
  });

  it("applies a truncate in the middle of a batch as a barrier", async () => {
    await sink.write({
      events: [
        { op: "insert", table, position: "12", after: { id: 40, name: "gone", big: null, qty: 0 } },
        { op: "truncate", table, position: "13" },
        { op: "insert", table, position: "14", after: { id: 41, name: "kept", big: "x", qty: 1 } },
        { op: "update", table, position: "15", key: { id: 41 }, after: { id: 41, qty: 2 }, unchanged: ["big", "name"] },
      ],
    });
    await sink.flush(checkpoint("15", "apply"));
    expect(await view()).toEqual(["41:kept:x:2"]);
  });

  it("rejects a bad row with a reason, without its values, while the rest of the batch commits", async () => {
    const receipt = await sink.write({
      events: [
        { op: "insert", table, position: "16", after: { id: 50, name: "ok", big: null, qty: 1 } },
        { op: "insert", table, position: "17", after: { id: 51, name: "much-too-long-SECRETVALUE", big: null, qty: 1 } },
        { op: "insert", table, position: "18", after: { id: 52, name: "ok2", big: null, qty: 4_000_000_000 } },
        { op: "insert", table, position: "19", after: { id: 53, name: "ok3", big: null, qty: 3 } },
        { op: "delete", table, position: "20", key: { id: 41 } },
      ],
    });
    expect(receipt.accepted).toBe(3);
    expect(receipt.rejected.map((r) => r.event.position).sort()).toEqual(["17", "18"]);
    const reasons = receipt.rejected.map((r) => r.reason).join(" | ");
    expect(reasons).toMatch(/22001/);
    expect(reasons).toMatch(/22003/);
    expect(reasons).not.toMatch(/SECRETVALUE|4000000000/);
    await sink.flush(checkpoint("20", "apply"));
    expect(await view()).toEqual(["50:ok:null:1", "53:ok3:null:3"]);
  });

  it("rejects a date out of range and a NOT NULL violation in a snapshot chunk", async () => {
    const t2: TableRef = { namespace: "src", name: "dated" };
    const s2: TableSchema = {
      table: t2,
      version: 1,
      primaryKey: ["id"],
      columns: [
        { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
        { name: "d", type: { kind: "date" }, nullable: true },
        { name: "req", type: { kind: "string" }, nullable: false },
      ],
    };
    await sink.prepare(s2);
    const receipt = await sink.writeSnapshot({
      table: t2, schema: s2, chunk: 0, last: true, rowsRead: 3,
      rows: [{ id: 1, d: "2024-01-01", req: "x" }, { id: 2, d: "99999999-01-01", req: "y" }, { id: 3, d: null, req: null }],
    });
    expect(receipt.accepted).toBe(1);
    expect(receipt.rejected.map((r) => [r.event.op, r.event.op === "insert" ? r.event.after.id : null])).toEqual([["insert", 2], ["insert", 3]]);
    expect(receipt.rejected[1]?.reason).toMatch(/23502.*"req"/);
    await sink.flush(checkpoint("21", "apply"));
    expect(await rows(`SELECT id, d, req FROM public.dated`)).toEqual([{ id: "1", d: "2024-01-01", req: "x" }]);
  });
});

describe("postgres sink: schema evolution", () => {
  const table: TableRef = { namespace: "src", name: "evolving" };
  const v1: TableSchema = {
    table,
    version: 1,
    primaryKey: ["id"],
    columns: [
      { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
      { name: "code", type: { kind: "string", maxLength: 10 }, nullable: false },
      { name: "gone", type: { kind: "string" }, nullable: false },
    ],
  };
  const columnTypes = async () =>
    Object.fromEntries(
      (await rows(`SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS type FROM pg_attribute a WHERE a.attrelid = 'public.evolving'::regclass AND a.attnum > 0 AND NOT a.attisdropped`)).map((r) => [r.name, r.type]),
    );

  it("adds columns and widens on prepare; keeps dropped columns; refuses incompatible changes", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "evolve" });
    await sink.prepare(v1);
    await sink.write({ events: [{ op: "insert", table, position: "1", after: { id: 1, code: "abc", gone: "g" } }] });
    await sink.flush(checkpoint("1", "evolve"));
    const v2: TableSchema = {
      ...v1,
      version: 2,
      columns: [
        { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "code", type: { kind: "string", maxLength: 50 }, nullable: false },
        { name: "added", type: { kind: "decimal", precision: 10, scale: 2 }, nullable: false },
      ],
    };
    await sink.prepare(v2);
    expect(await columnTypes()).toEqual({ id: "bigint not null", code: "character varying(50) not null", gone: "text", added: "numeric(10,2)" });
    await sink.write({ events: [{ op: "insert", table, position: "2", after: { id: 5_000_000_000n, code: "x".repeat(40), added: "12.34" } }] });
    await sink.flush(checkpoint("2", "evolve"));
    expect(await rows(`SELECT id, length(code) AS n, gone, added FROM public.evolving ORDER BY id`)).toEqual([
      { id: "1", n: "3", gone: "g", added: null },
      { id: "5000000000", n: "40", gone: null, added: "12.34" },
    ]);

    // narrowing at the source: the wider target column is kept
    const v3: TableSchema = { ...v2, version: 3, columns: [v2.columns[0], { name: "code", type: { kind: "string", maxLength: 5 }, nullable: false }, v2.columns[2]] as TableSchema["columns"] };
    await sink.prepare(v3);
    expect(sink.describeTable(table)?.keptWider).toEqual(['column "code": character varying(50) -> character varying(5)']);
    // an incompatible change is refused and reported; the column stays as it was
    const v4: TableSchema = { ...v2, version: 4, columns: [v2.columns[0], v2.columns[1], { name: "added", type: { kind: "bool" }, nullable: true }] as TableSchema["columns"] };
    const refused = await sink.prepare(v4).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(ZeroEtlError);
    expect((refused as ZeroEtlError).code).toBe("schema-refused");
    expect((refused as ZeroEtlError).message).toMatch(/"added": numeric\(10,2\) -> boolean/);
    expect((await columnTypes()).added).toBe("numeric(10,2)");
  });

  it("applies a schema change event inside the batch, in order", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "evolve2" });
    const t: TableRef = { namespace: "src", name: "evolving_inline" };
    const s1: TableSchema = { table: t, version: 1, primaryKey: ["id"], columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }] };
    const s2: TableSchema = { ...s1, version: 2, columns: [...s1.columns, { name: "extra", type: { kind: "string" }, nullable: true }] };
    await sink.prepare(s1);
    await sink.write({
      events: [
        { op: "insert", table: t, position: "1", after: { id: 1 } },
        { op: "schema", table: t, position: "2", schema: s2, previous: s1 },
        { op: "insert", table: t, position: "3", after: { id: 2, extra: "e" } },
      ],
    });
    await sink.flush(checkpoint("3", "evolve2"));
    expect(await rows(`SELECT id, extra FROM public.evolving_inline ORDER BY id`)).toEqual([{ id: "1", extra: null }, { id: "2", extra: "e" }]);
  });
});

describe("postgres sink: checkpoints and state", () => {
  const table: TableRef = { namespace: "src", name: "ck" };
  const schema: TableSchema = { table, version: 1, primaryKey: ["id"], columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }] };
  const tables: PipelineCheckpoint["tables"] = {
    "src.ck": { state: "synced", rows: 2, lastPosition: "0/16B3748", updatedAt: "2026-01-02T03:04:05.000Z" },
    "src.other": { state: "failed", rows: 0, lastError: "boom", updatedAt: "2026-01-02T03:04:06.000Z" },
  };

  it("writes checkpoint and table state with the data, and open() returns it", async () => {
    const sink = newSink();
    expect(await sink.open({ pipeline: "ckp" })).toBeUndefined();
    await sink.prepare(schema);
    await sink.write({ events: [{ op: "insert", table, position: "1", after: { id: 1 } }] });
    await sink.flush(checkpoint("0/16B3748", "ckp", tables));
    expect(await rows(`SELECT table_name, state, rows_applied, last_position, last_error FROM public._zeroetl_table_state WHERE pipeline = 'ckp' ORDER BY table_name`)).toEqual([
      { table_name: "src.ck", state: "synced", rows_applied: "2", last_position: "0/16B3748", last_error: null },
      { table_name: "src.other", state: "failed", rows_applied: "0", last_position: null, last_error: "boom" },
    ]);
    const again = newSink();
    expect(await again.open({ pipeline: "ckp" })).toEqual(checkpoint("0/16B3748", "ckp", tables));
  });

  it("commits neither data nor checkpoint when the flush fails midway, and succeeds on retry", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "killed" });
    await sink.prepare(schema);
    await sink.write({ events: [{ op: "insert", table, position: "2", after: { id: 2 } }, { op: "delete", table, position: "3", key: { id: 1 } }] });
    await reader.query(`CREATE FUNCTION public.zetl_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await reader.query(`CREATE TRIGGER zetl_fail BEFORE INSERT OR UPDATE ON public._zeroetl_checkpoints FOR EACH ROW WHEN (NEW.pipeline = 'killed') EXECUTE FUNCTION public.zetl_fail()`);
    const failure = await sink.flush(checkpoint("3", "killed")).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(ZeroEtlError);
    expect((failure as ZeroEtlError).message).toMatch(/injected failure/);
    expect(await rows(`SELECT id FROM public.ck ORDER BY id`)).toEqual([{ id: "1" }]);
    expect(await rows(`SELECT pipeline FROM public._zeroetl_checkpoints WHERE pipeline = 'killed'`)).toEqual([]);
    await reader.query(`DROP TRIGGER zetl_fail ON public._zeroetl_checkpoints`);
    // the sink kept what it accepted: a retried flush replays it in a new transaction
    await sink.flush(checkpoint("3", "killed"));
    expect(await rows(`SELECT id FROM public.ck ORDER BY id`)).toEqual([{ id: "2" }]);
    expect((await newSink().open({ pipeline: "killed" }))?.position).toBe("3");
  });

  it("recovers from a connection killed mid-transaction by replaying what it accepted", async () => {
    const sink = newSink();
    await sink.open({ pipeline: "reconnect" });
    await sink.prepare(schema);
    await sink.write({ events: [{ op: "insert", table, position: "4", after: { id: 4 } }] });
    await reader.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zero-etl-sink' AND datname = current_database() AND state LIKE 'idle in transaction%'`);
    const write = () => sink.write({ events: [{ op: "insert", table, position: "5", after: { id: 5 } }] });
    // either the sink noticed the dead connection first (and replays at once) or the write fails retryably
    const failure = await write().then(() => undefined, (e: unknown) => e);
    if (failure !== undefined) {
      expect(failure).toBeInstanceOf(ZeroEtlError);
      expect((failure as ZeroEtlError).retryable).toBe(true);
      await write();
    }
    await sink.flush(checkpoint("5", "reconnect"));
    expect(await rows(`SELECT id FROM public.ck WHERE id >= 4 ORDER BY id`)).toEqual([{ id: "4" }, { id: "5" }]);
  });
});

describe("postgres sink: identifiers, keyless tables, errors", () => {
  it("quotes odd identifiers end to end", async () => {
    const table: TableRef = { namespace: "src", name: 'Weird "Name"' };
    const schema: TableSchema = {
      table, version: 1, primaryKey: ["Key Col"],
      columns: [
        { name: "Key Col", type: { kind: "string" }, nullable: false },
        { name: 'Val"ue', type: { kind: "int", bits: 32, signed: true }, nullable: true },
        { name: "ÜNICODE ✓", type: { kind: "string" }, nullable: true },
      ],
    };
    const sink = newSink("Ware House");
    await sink.open({ pipeline: "odd" });
    await sink.prepare(schema);
    await sink.write({
      events: [
        { op: "insert", table, position: "1", after: { "Key Col": "a'b", 'Val"ue': 1, "ÜNICODE ✓": "ü" } },
        { op: "insert", table, position: "2", after: { "Key Col": "c", 'Val"ue': 2, "ÜNICODE ✓": null } },
        { op: "update", table, position: "3", key: { "Key Col": "a'b" }, after: { "Key Col": "a'b", 'Val"ue': 3 }, unchanged: ["ÜNICODE ✓"] },
        { op: "delete", table, position: "4", key: { "Key Col": "c" } },
      ],
    });
    await sink.flush(checkpoint("4", "odd"));
    expect(await rows(`SELECT * FROM "Ware House"."Weird ""Name"""`)).toEqual([{ "Key Col": "a'b", 'Val"ue': "3", "ÜNICODE ✓": "ü" }]);
    expect(await rows(`SELECT pipeline FROM "Ware House"._zeroetl_checkpoints`)).toEqual([{ pipeline: "odd" }]);
  });

  it("appends to keyless tables and updates/deletes one row by its before image", async () => {
    const table: TableRef = { namespace: "src", name: "keyless" };
    const schema: TableSchema = {
      table, version: 1, primaryKey: [],
      columns: [{ name: "a", type: { kind: "string" }, nullable: true }, { name: "b", type: { kind: "int", bits: 32, signed: true }, nullable: true }],
    };
    const sink = newSink();
    await sink.open({ pipeline: "keyless" });
    await sink.prepare(schema);
    const receipt = await sink.write({
      events: [
        { op: "insert", table, position: "1", after: { a: "x", b: 1 } },
        { op: "insert", table, position: "2", after: { a: "x", b: 1 } },
        { op: "insert", table, position: "3", after: { a: null, b: 2 } },
        { op: "update", table, position: "4", key: {}, before: { a: "x", b: 1 }, after: { a: "y", b: 1 } },
        { op: "delete", table, position: "5", key: {}, before: { a: null, b: 2 } },
        { op: "delete", table, position: "6", key: {} },
      ],
    });
    expect(receipt.rejected.map((r) => [r.event.position, r.reason])).toEqual([["6", expect.stringMatching(/no primary key.*before image/)]]);
    await sink.flush(checkpoint("6", "keyless"));
    expect(await rows(`SELECT a, b FROM public.keyless ORDER BY a`)).toEqual([{ a: "x", b: "1" }, { a: "y", b: "1" }]);
  });

  it("reports a bad URL or an unreachable server without the password", async () => {
    expect(() => createPostgresSink({ url: "mysql://u:hunter2@h/db" })).toThrow(/target\.url: expected a postgres/);
    expect(() => createPostgresSink({ url: "not a url hunter2" })).toThrow(/target\.url/);
    try {
      createPostgresSink({ url: "not a url hunter2" });
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/hunter2/);
    }
    const unreachable = createPostgresSink({ url: "postgres://zetl:hunter2@127.0.0.1:1/nowhere" });
    const error = await unreachable.open({ pipeline: "x" }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ZeroEtlError);
    expect((error as ZeroEtlError).code).toBe("connection-failed");
    expect((error as ZeroEtlError).message).toMatch(/127\.0\.0\.1:1\/nowhere/);
    expect(`${(error as Error).message} ${String((error as Error).cause)}`).not.toMatch(/hunter2/);
    const report = await unreachable.preflight({ fix: false });
    expect(report.checks[0]).toMatchObject({ id: "postgres-sink.connect", ok: false });
    expect(JSON.stringify(report)).not.toMatch(/hunter2/);
    const wrongPassword = createPostgresSink({ url: db.url.replace("postgres@", "nosuchuser:hunter2@") });
    const denied = await wrongPassword.open({ pipeline: "x" }).then(() => undefined, (e: unknown) => e);
    expect((denied as ZeroEtlError).code).toBe("connection-failed");
    expect((denied as ZeroEtlError).message).not.toMatch(/hunter2/);
  });

  it("preflight finds a missing schema and creates it with fix", async () => {
    const sink = newSink("fresh_schema");
    const before = await sink.preflight({ fix: false });
    expect(before.checks.find((c) => c.id === "postgres-sink.schema")).toMatchObject({ ok: false, fixable: true });
    const fixed = await sink.preflight({ fix: true });
    expect(fixed.checks.every((c) => c.ok)).toBe(true);
    expect(fixed.checks.find((c) => c.id === "postgres-sink.schema")).toMatchObject({ fixed: true });
    expect(await sink.open({ pipeline: "x" })).toBeUndefined();
  });

  it("creates a missing target schema when it opens, as it creates tables", async () => {
    const sink = newSink("opened_schema");
    expect(await sink.open({ pipeline: "x" })).toBeUndefined();
    const after = await sink.preflight({ fix: false });
    expect(after.checks.find((c) => c.id === "postgres-sink.schema")).toMatchObject({ ok: true });
    await sink.close();
  });
});

describe("postgres sink: PostgreSQL-native types", () => {
  it("keeps columns created before native types were kept, and creates the native type for new ones", async () => {
    const table: TableRef = { namespace: "src", name: "natives_upgrade" };
    // the target table as an older version created it: inet as text, json as jsonb
    await reader.query(`CREATE TABLE public.natives_upgrade (id bigint PRIMARY KEY, ip text, doc jsonb)`);
    const schema: TableSchema = {
      table,
      version: 1,
      primaryKey: ["id"],
      columns: [
        { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "ip", type: { kind: "string", native: { dialect: "postgres", name: "inet" } }, nullable: true },
        { name: "doc", type: { kind: "json", native: { dialect: "postgres", name: "json" } }, nullable: true },
        { name: "net", type: { kind: "string", native: { dialect: "postgres", name: "cidr" } }, nullable: true },
        { name: "odd", type: { kind: "string", native: { dialect: "postgres", name: "no_such_type" } }, nullable: true },
      ],
    };
    const sink = newSink();
    await sink.open({ pipeline: "natives" });
    await sink.prepare(schema);
    expect(sink.describeTable(table)?.refused ?? []).toEqual([]);
    await sink.write({ events: [{ op: "insert", table, position: "1", after: { id: 1n, ip: "10.0.0.1/8", doc: '{"a": 1, "a": 2}', net: "10.0.0.0/8", odd: "x" } }] });
    await sink.flush(checkpoint("1", "natives"));
    const types = await rows(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'public.natives_upgrade'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(types).toEqual([
      { name: "id", type: "bigint" },
      { name: "ip", type: "text" },
      { name: "doc", type: "jsonb" },
      { name: "net", type: "cidr" },
      // a native type the target does not have falls back to the kind's type
      { name: "odd", type: "text" },
    ]);
    expect(await rows(`SELECT ip, doc::text AS doc, net::text AS net, odd FROM public.natives_upgrade`)).toEqual([{ ip: "10.0.0.1/8", doc: '{"a": 2}', net: "10.0.0.0/8", odd: "x" }]);
  });

  it("creates arrays as arrays and widens them element-wise", async () => {
    const table: TableRef = { namespace: "src", name: "arrays_widen" };
    const v1: TableSchema = {
      table,
      version: 1,
      primaryKey: ["id"],
      columns: [
        { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
        { name: "a", type: { kind: "list", element: { kind: "int", bits: 32, signed: true }, native: { dialect: "postgres", name: "integer[]" } }, nullable: true },
      ],
    };
    const v2: TableSchema = {
      ...v1,
      version: 2,
      columns: [v1.columns[0] as TableSchema["columns"][number], { name: "a", type: { kind: "list", element: { kind: "int", bits: 64, signed: true }, native: { dialect: "postgres", name: "bigint[]" } }, nullable: true }],
    };
    const sink = newSink();
    await sink.open({ pipeline: "arrays" });
    await sink.prepare(v1);
    await sink.write({ events: [{ op: "insert", table, position: "1", after: { id: 1, a: [1, null, 3] } }] });
    await sink.flush(checkpoint("1", "arrays"));
    await sink.prepare(v2);
    await sink.write({ events: [{ op: "insert", table, position: "2", after: { id: 2, a: [9223372036854775807n] } }] });
    await sink.flush(checkpoint("2", "arrays"));
    expect(await rows(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'public.arrays_widen'::regclass AND attname = 'a'`)).toEqual([{ type: "bigint[]" }]);
    expect(await rows(`SELECT id, a::text AS a FROM public.arrays_widen ORDER BY id`)).toEqual([
      { id: "1", a: "{1,NULL,3}" },
      { id: "2", a: "{9223372036854775807}" },
    ]);
  });
});
