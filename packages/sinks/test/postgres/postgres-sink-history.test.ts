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
  db = await createTestDatabase("pghist");
  reader = new pg.Client({ connectionString: db.url, types: { getTypeParser: () => (value: string) => value } });
  await reader.connect();
  await reader.query("SET TimeZone = 'UTC'");
});

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  await reader?.end();
  await db?.drop();
});

function newSink(schema: string, tables: string[] = ["src.items"]): PostgresSink {
  const sink = createPostgresSink({ url: db.url, schema, history: { tables } });
  sinks.push(sink);
  return sink;
}

function checkpoint(position: string, pipeline: string, phase: PipelineCheckpoint["phase"] = "streaming"): PipelineCheckpoint {
  return { pipeline, phase, position, tables: {}, savedAt: "2026-01-02T03:04:05.678Z" };
}

const table: TableRef = { namespace: "src", name: "items" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "name", type: { kind: "string" }, nullable: true },
    { name: "doc", type: { kind: "string" }, nullable: true },
  ],
};

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const at = (n: number) => ({ position: `0/${(0x1000 + n).toString(16).toUpperCase()}`, commitTime: T0 + n * 1000 });
const ins = (n: number, id: bigint, name: string, doc = `doc${id}`): ChangeEvent => ({ op: "insert", table, ...at(n), after: { id, name, doc } });
const upd = (n: number, id: bigint, name: string, newId = id): ChangeEvent => ({ op: "update", table, ...at(n), key: { id }, after: { id: newId, name, doc: `doc${newId}` } });
const toast = (n: number, id: bigint, name: string): ChangeEvent => ({ op: "update", table, ...at(n), key: { id }, after: { id, name }, unchanged: ["doc"] });
const del = (n: number, id: bigint): ChangeEvent => ({ op: "delete", table, ...at(n), key: { id } });
const trunc = (n: number): ChangeEvent => ({ op: "truncate", table, ...at(n) });

interface VersionRow {
  id: string;
  name: string | null;
  doc: string | null;
  _zeroetl_valid_from: string;
  _zeroetl_valid_to: string | null;
  _zeroetl_valid_from_time: string | null;
  _zeroetl_valid_to_time: string | null;
  _zeroetl_is_current: string;
  _zeroetl_op: string;
}

async function versions(schemaName: string): Promise<VersionRow[]> {
  const result = await reader.query(`SELECT * FROM "${schemaName}".items ORDER BY id::bigint, _zeroetl_is_current, _zeroetl_op = 'snapshot' DESC, _zeroetl_valid_from_time, _zeroetl_valid_from`);
  return result.rows as VersionRow[];
}

/** Compact form: id name doc from->to current op. */
function brief(rows: readonly VersionRow[]): string[] {
  return rows.map((r) => `${r.id} ${r.name} ${r.doc} ${r._zeroetl_valid_from}->${r._zeroetl_valid_to ?? "null"} ${r._zeroetl_is_current === "t" ? "current" : "closed"} ${r._zeroetl_op}`);
}

const p = (n: number) => at(n).position;

describe("postgres sink: history mode", () => {
  it("keeps one row per version with validity intervals through snapshot, inserts, updates, key changes, TOAST, deletes and truncate", async () => {
    await reader.query("CREATE SCHEMA h1");
    const sink = newSink("h1");
    await sink.open({ pipeline: "h1" });
    await sink.prepare(schema);
    await sink.resetTable(table);
    await sink.writeSnapshot({ table, schema, rows: [{ id: 1n, name: "a", doc: "doc1" }, { id: 2n, name: "b", doc: "doc2" }], chunk: 0, last: true, rowsRead: 2 });
    await sink.flush(checkpoint("0/1000", "h1"));

    await sink.write({
      events: [
        upd(1, 1n, "a2"),
        ins(2, 3n, "c"),
        upd(3, 1n, "a3"), // second update of a key in the same run
        toast(4, 2n, "b2"), // doc comes from the snapshot version in the target
        upd(5, 3n, "c-moved", 30n), // key change
        toast(6, 30n, "c2"), // doc comes from the version opened in this run
        del(7, 2n),
      ],
    });
    await sink.flush(checkpoint(p(7), "h1"));
    expect(brief(await versions("h1"))).toEqual([
      "1 a doc1 0/1000->0/1001 closed snapshot",
      "1 a2 doc1 0/1001->0/1003 closed update",
      "1 a3 doc1 0/1003->null current update",
      "2 b doc2 0/1000->0/1004 closed snapshot",
      "2 b2 doc2 0/1004->0/1007 closed update",
      "3 c doc3 0/1002->0/1005 closed insert",
      "30 c-moved doc30 0/1005->0/1006 closed update",
      "30 c2 doc30 0/1006->null current update",
    ]);
    const rows = await versions("h1");
    const v = rows.find((r) => r.name === "a2");
    expect(v?._zeroetl_valid_from_time).toBe("2026-01-01 00:00:01+00");
    expect(v?._zeroetl_valid_to_time).toBe("2026-01-01 00:00:03+00");

    await sink.write({ events: [trunc(8), ins(9, 1n, "again")] });
    await sink.flush(checkpoint(p(9), "h1"));
    const after = brief(await versions("h1"));
    expect(after.filter((l) => l.includes("current"))).toEqual(["1 again doc1 0/1009->null current insert"]);
    expect(after).toContain("1 a3 doc1 0/1003->0/1008 closed update");
    expect(after).toContain("30 c2 doc30 0/1006->0/1008 closed update");
    expect(after).toHaveLength(9);
  });

  it("adds no version when events are replayed: twice in one transaction, across flushes, and after a failed flush", async () => {
    await reader.query("CREATE SCHEMA h2");
    const sink = newSink("h2", ["*"]);
    await sink.open({ pipeline: "h2" });
    await sink.prepare(schema);
    await sink.resetTable(table);
    await sink.flush(checkpoint("0/1000", "h2"));

    const first = [ins(1, 1n, "a"), ins(2, 2n, "b"), upd(3, 1n, "a2"), del(4, 2n)];
    await sink.write({ events: first });
    await sink.write({ events: first });
    await sink.flush(checkpoint(p(4), "h2"));
    const once = brief(await versions("h2"));
    expect(once).toEqual(["1 a doc1 0/1001->0/1003 closed insert", "1 a2 doc1 0/1003->null current update", "2 b doc2 0/1002->0/1004 closed insert"]);

    // delivered again in a later flush, with new events after the replayed prefix
    await sink.write({ events: [...first, upd(5, 1n, "a3"), trunc(6), ins(7, 2n, "b-back")] });
    await sink.flush(checkpoint(p(7), "h2"));
    await sink.write({ events: [upd(3, 1n, "a2"), del(4, 2n), upd(5, 1n, "a3"), trunc(6), ins(7, 2n, "b-back")] });
    await sink.flush(checkpoint(p(7), "h2"));
    const twice = brief(await versions("h2"));
    expect(twice).toEqual([
      "1 a doc1 0/1001->0/1003 closed insert",
      "1 a2 doc1 0/1003->0/1005 closed update",
      "1 a3 doc1 0/1005->0/1006 closed update",
      "2 b doc2 0/1002->0/1004 closed insert",
      "2 b-back doc2 0/1007->null current insert",
    ]);

    // a flush that fails after the data: nothing commits, and the runtime writes the same events again
    await reader.query(`CREATE FUNCTION h2.zetl_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await reader.query(`CREATE TRIGGER zetl_fail BEFORE INSERT OR UPDATE ON h2._zeroetl_checkpoints FOR EACH ROW WHEN (NEW.checkpoint->>'position' = '0/1009') EXECUTE FUNCTION h2.zetl_fail()`);
    const next = [upd(8, 1n, "a4"), toast(9, 2n, "b2")];
    await sink.write({ events: next });
    await expect(sink.flush({ ...checkpoint(p(9), "h2") })).rejects.toBeInstanceOf(ZeroEtlError);
    expect(await versions("h2")).toHaveLength(5);
    await reader.query(`DROP TRIGGER zetl_fail ON h2._zeroetl_checkpoints`);
    await sink.write({ events: next });
    await sink.flush(checkpoint(p(9), "h2"));
    const final = brief(await versions("h2"));
    expect(final).toHaveLength(7);
    expect(final.filter((l) => l.includes("current"))).toEqual(["1 a4 doc1 0/1008->null current update", "2 b2 doc2 0/1009->null current update"]);
    const counts = await reader.query(`SELECT id, count(*) FILTER (WHERE _zeroetl_is_current) AS c FROM h2.items GROUP BY id ORDER BY id`);
    expect(counts.rows).toEqual([{ id: "1", c: "1" }, { id: "2", c: "1" }]);
  });

  it("a re-snapshot closes the current versions and opens new ones at the snapshot position", async () => {
    await reader.query("CREATE SCHEMA h3");
    const sink = newSink("h3");
    await sink.open({ pipeline: "h3" });
    await sink.prepare(schema);
    await sink.write({ events: [ins(1, 1n, "a"), ins(2, 2n, "b")] });
    await sink.flush(checkpoint(p(2), "h3"));
    await sink.resetTable(table);
    await sink.writeSnapshot({ table, schema, rows: [{ id: 1n, name: "a-snap", doc: "doc1" }], chunk: 0, last: true, rowsRead: 1 });
    await sink.flush(checkpoint("0/2000", "h3", "snapshot"));
    expect(brief(await versions("h3"))).toEqual([
      "1 a doc1 0/1001->0/2000 closed insert",
      "1 a-snap doc1 0/2000->null current snapshot",
      "2 b doc2 0/1002->0/2000 closed insert",
    ]);
    const pending = await reader.query(`SELECT count(*)::int AS n FROM h3.items WHERE _zeroetl_valid_from = '' OR _zeroetl_valid_to = ''`);
    expect(pending.rows[0]).toEqual({ n: "0" });
  });

  it("refuses a keyless table in history mode and leaves other tables in latest-state mode", async () => {
    await reader.query("CREATE SCHEMA h4");
    const sink = newSink("h4", ["src.keyless"]);
    await sink.open({ pipeline: "h4" });
    const keyless: TableSchema = { ...schema, table: { namespace: "src", name: "keyless" }, primaryKey: [] };
    await expect(sink.prepare(keyless)).rejects.toMatchObject({ code: "schema-unsupported" });
    await sink.prepare(schema);
    await sink.write({ events: [ins(1, 1n, "a"), upd(2, 1n, "b")] });
    await sink.flush(checkpoint(p(2), "h4"));
    const rows = await reader.query(`SELECT * FROM h4.items`);
    expect(rows.rows).toEqual([{ id: "1", name: "b", doc: "doc1" }]);
  });

  it("rejects a bad record alone and keeps the other versions, in order", async () => {
    await reader.query("CREATE SCHEMA h5");
    const sink = newSink("h5");
    await sink.open({ pipeline: "h5" });
    const narrow: TableSchema = { ...schema, columns: schema.columns.map((c) => (c.name === "name" ? { ...c, type: { kind: "string", maxLength: 5 } } : c)) };
    await sink.prepare(narrow);
    const receipt = await sink.write({ events: [ins(1, 1n, "a"), upd(2, 1n, "far too long"), upd(3, 1n, "b"), ins(4, 2n, "c")] });
    expect(receipt.accepted).toBe(3);
    expect(receipt.rejected.map((r) => r.event.position)).toEqual([p(2)]);
    expect(receipt.rejected[0]?.reason).toMatch(/22001/);
    expect(receipt.rejected[0]?.reason).not.toMatch(/far too long/);
    await sink.flush(checkpoint(p(4), "h5"));
    expect(brief(await versions("h5"))).toEqual(["1 a doc1 0/1001->0/1003 closed insert", "1 b doc1 0/1003->null current update", "2 c doc2 0/1004->null current insert"]);
  });

  it("rejects bad options with the field path", () => {
    expect(() => createPostgresSink({ url: db.url, history: { tables: ["nodot"] } })).toThrow(/target\.history\.tables\[0\]/);
  });
});
