import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { ChangeEvent, PipelineCheckpoint, Row, TableRef, TableSchema } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import type { PostgresSink } from "@zero-etl/sinks/postgres";
import { STAGED_MIN_ROWS, StagedApply } from "../../src/postgres/postgres-staged-apply.js";
import { createPgSqlCompiler } from "../../src/postgres/postgres-dml-compiler.js";
import { PostgresSession } from "../../src/postgres/postgres-session.js";
import { resolvePostgresSinkConfig } from "../../src/postgres/postgres-sink-config.js";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

// The staged path (COPY into a temporary table, one set-based statement)
// must leave exactly what the parameter statements leave: the same events go
// to one schema in batches large enough to be staged and to another in
// batches too small for it, and the two are compared by SQL.
const ROWS = 600;
const SMALL = 100;

let db: TestDatabase;
let reader: pg.Client;
const sinks: PostgresSink[] = [];

const table: TableRef = { namespace: "src", name: "things" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "req", type: { kind: "string" }, nullable: false },
    { name: "s", type: { kind: "string" }, nullable: true },
    { name: "vc", type: { kind: "string", maxLength: 5 }, nullable: true },
    { name: "b", type: { kind: "bool" }, nullable: true },
    { name: "f", type: { kind: "float", bits: 64 }, nullable: true },
    { name: "dec", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true },
    { name: "bin", type: { kind: "bytes" }, nullable: true },
    { name: "d", type: { kind: "date" }, nullable: true },
    { name: "tstz", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
    { name: "iv", type: { kind: "interval" }, nullable: true },
    { name: "j", type: { kind: "json" }, nullable: true },
    { name: "l", type: { kind: "list", element: { kind: "string" } }, nullable: true },
  ],
};
const pairs: TableRef = { namespace: "src", name: "pairs" };
const pairSchema: TableSchema = {
  table: pairs,
  version: 1,
  primaryKey: ["a", "b"],
  columns: [
    { name: "a", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "b", type: { kind: "string" }, nullable: false },
    { name: "v", type: { kind: "string" }, nullable: true },
  ],
};

const STRINGS = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash\\N", "\\.", 'quote " and \' ✓', "", "é\u00a0😀", "\\x00ff"];
const FLOATS = [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, -1.7976931348623157e308];

function thing(i: number, version: number): Row {
  const pick = <T>(xs: readonly T[], k: number): T => xs[(i + k + version) % xs.length] as T;
  return {
    id: BigInt(i),
    req: `req ${i} v${version}`,
    s: i % 11 === 0 ? null : `${pick(STRINGS, 0)} ${i}`,
    vc: pick(["", "abcde", "a\tb", null], 1),
    b: i % 3 === 0 ? null : i % 3 === 1,
    f: pick(FLOATS, 2),
    dec: `${i}.${String(i % 100).padStart(2, "0")}`,
    bin: i % 7 === 0 ? null : new Uint8Array([i % 256, 0, 92, 10, 9, 255]),
    d: pick(["2024-02-29", "-0043-03-15", "0001-01-01", "infinity"], 3),
    tstz: pick(["2024-06-01T10:20:30.654321Z", "-0100-01-01T00:00:00Z", "infinity", "-infinity"], 4),
    iv: pick(["P1Y2M3DT4H5M6.789S", "PT0S", "P-1DT-2H"], 5),
    j: pick(['{"a": [1, "x\\ty", null], "n": 12345678901234567890.5}', "[]", '"\\\\"', "null"], 6),
    l: i % 5 === 0 ? null : [pick(STRINGS, 7), null, "x"],
  };
}

function checkpoint(position: string, pipeline: string): PipelineCheckpoint {
  return { pipeline, phase: "streaming", position, tables: {}, savedAt: "2026-01-02T03:04:05.678Z" };
}

/** Writes the events to a sink in batches of `size`, flushing at the end; returns the positions rejected. */
async function apply(sink: PostgresSink, pipeline: string, events: readonly ChangeEvent[], size: number, position: string): Promise<string[]> {
  const rejected: string[] = [];
  for (let start = 0; start < events.length; start += size) {
    const receipt = await sink.write({ events: events.slice(start, start + size) });
    for (const r of receipt.rejected) rejected.push(r.event.position);
  }
  await sink.flush(checkpoint(position, pipeline));
  return rejected.sort();
}

async function differences(relation: string): Promise<number> {
  const sql = `SELECT count(*)::int AS n FROM ((SELECT * FROM staged.${relation} EXCEPT ALL SELECT * FROM params.${relation}) UNION ALL (SELECT * FROM params.${relation} EXCEPT ALL SELECT * FROM staged.${relation})) d`;
  return Number((await reader.query<{ n: number }>(sql)).rows[0]?.n);
}

async function count(relation: string): Promise<number> {
  return Number((await reader.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${relation}`)).rows[0]?.n);
}

describe("postgres sink: staged (COPY) apply equals the parameter statements", () => {
  const both: { name: string; sink: PostgresSink; size: number }[] = [];

  beforeAll(async () => {
    expect(ROWS).toBeGreaterThanOrEqual(STAGED_MIN_ROWS);
    expect(SMALL).toBeLessThan(STAGED_MIN_ROWS);
    db = await createTestDatabase("pgstaged");
    reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    for (const [name, size] of [["staged", ROWS], ["params", SMALL]] as const) {
      const sink = createPostgresSink({ url: db.url, schema: name });
      sinks.push(sink);
      await sink.open({ pipeline: name });
      await sink.prepare(schema);
      await sink.prepare(pairSchema);
      both.push({ name, sink, size });
    }
  });

  afterAll(async () => {
    for (const sink of sinks) await sink.close();
    await reader?.end();
    await db?.drop();
  });

  it("inserts rows with every kind of awkward value", async () => {
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS; i++) events.push({ op: "insert", table, position: String(i), after: thing(i, 0) });
    for (const { name, sink, size } of both) expect(await apply(sink, name, events, size, "1")).toEqual([]);
    expect(await count("staged.things")).toBe(ROWS);
    expect(await differences("things")).toBe(0);

    // the staged statement itself takes every one of these values (the sink does not fall back to row by row)
    const target = both[0]?.sink.describeTable(table)?.target;
    if (target === undefined) throw new Error("staged table not prepared");
    const session = await PostgresSession.connect(resolvePostgresSinkConfig({ url: db.url, schema: "staged" }));
    try {
      await session.run("BEGIN");
      const rows = events.map((e) => ({ row: (e as { after: Row }).after }));
      expect(await new StagedApply(createPgSqlCompiler()).upsert(session, target, "*", target.columns, true, rows)).toBe(ROWS);
      await session.run("COMMIT");
    } finally {
      await session.destroy();
    }
    expect(await differences("things")).toBe(0);
  });

  it("updates rows that lack a NOT NULL column (unchanged TOAST) and keeps its value, and inserts whole rows over existing keys", async () => {
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS; i++) {
      const { req: _kept, ...partial } = thing(i, 1);
      events.push(
        i % 2 === 0
          ? { op: "update", table, position: String(i), key: { id: BigInt(i) }, after: partial, unchanged: ["req"] }
          : { op: "insert", table, position: String(i), after: thing(i, 2) },
      );
    }
    for (const { name, sink, size } of both) expect(await apply(sink, name, events, size, "2")).toEqual([]);
    expect(await differences("things")).toBe(0);
    const kept = await reader.query<{ req: string }>("SELECT req FROM staged.things WHERE id = 2");
    expect(kept.rows[0]?.req).toBe("req 2 v0");
  });

  it("deletes by composite key, and a delete then a re-insert of one key within a batch leaves the row", async () => {
    const inserts: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS * 2; i++) inserts.push({ op: "insert", table: pairs, position: String(i), after: { a: i % 7, b: `k\t${i}`, v: `v ${i}` } });
    for (const { name, sink, size } of both) await apply(sink, name, inserts, size, "3");
    const changes: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS * 2; i += 2) changes.push({ op: "delete", table: pairs, position: String(i), key: { a: i % 7, b: `k\t${i}` } });
    changes.push({ op: "delete", table: pairs, position: "x1", key: { a: 2 % 7, b: "k\t2" } });
    changes.push({ op: "insert", table: pairs, position: "x2", after: { a: 2 % 7, b: "k\t2", v: "back" } });
    for (const { name, sink } of both) expect(await apply(sink, name, changes, name === "staged" ? changes.length : SMALL, "4")).toEqual([]);
    expect(await count("staged.pairs")).toBe(ROWS);
    expect(await differences("pairs")).toBe(0);
    const back = await reader.query<{ v: string }>("SELECT v FROM staged.pairs WHERE a = 2 AND b = $1", ["k\t2"]);
    expect(back.rows[0]?.v).toBe("back");
  });

  it("rejects only the bad record of a staged batch, and applies the rest", async () => {
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS; i++) {
      const row = thing(ROWS + i, 0);
      events.push({ op: "insert", table, position: String(1000 + i), after: i === 123 ? { ...row, vc: "much too long" } : row });
    }
    for (const { name, sink, size } of both) expect(await apply(sink, name, events, size, "5")).toEqual(["1123"]);
    expect(await count("staged.things")).toBe(ROWS * 2 - 1);
    expect(await differences("things")).toBe(0);
  });

  it("copies rows new at the source straight into the table; a replay of them falls back to the upsert, each row once, and keeps the transaction's earlier work", async () => {
    const sink = createPostgresSink({ url: db.url, schema: "fast" });
    sinks.push(sink);
    await sink.open({ pipeline: "fast" });
    await sink.prepare(schema);
    const target = sink.describeTable(table)?.target;
    if (target === undefined) throw new Error("fast table not prepared");
    const staged = new StagedApply(createPgSqlCompiler());
    const rows = (from: number, version: number) => Array.from({ length: ROWS }, (_, i) => ({ row: thing(from + i, version) }));
    const session = await PostgresSession.connect(resolvePostgresSinkConfig({ url: db.url, schema: "fast" }));
    try {
      await session.run("BEGIN");
      expect(await staged.insert(session, target, "*", target.columns, true, rows(1, 0))).toBe(ROWS);
      await session.run("COMMIT");
      expect(staged.times).toMatchObject({ insertRows: ROWS, insertFallbacks: 0, rows: 0 });

      // the same keys again (a replay after a crash), after new rows in the same transaction
      await session.run("BEGIN");
      expect(await staged.insert(session, target, "*", target.columns, true, rows(ROWS + 1, 0))).toBe(ROWS);
      expect(await staged.insert(session, target, "*", target.columns, true, rows(1, 3))).toBe(ROWS);
      await session.run("COMMIT");
      expect(staged.times).toMatchObject({ insertRows: 2 * ROWS, insertFallbacks: 1, rows: ROWS });
    } finally {
      await session.destroy();
    }
    expect(await count("fast.things")).toBe(2 * ROWS);
    const replayed = await reader.query<{ n: number }>("SELECT count(*)::int AS n FROM fast.things WHERE id <= $1 AND req = 'req ' || id || ' v3'", [ROWS]);
    expect(replayed.rows[0]?.n).toBe(ROWS);
    const kept = await reader.query<{ n: number }>("SELECT count(*)::int AS n FROM fast.things WHERE id > $1 AND req = 'req ' || id || ' v0'", [ROWS]);
    expect(kept.rows[0]?.n).toBe(ROWS);
  });

  it("a sink replaying a committed batch of inserts (a restart from an older position) leaves each row once, as the parameter statements do", async () => {
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= ROWS; i++) events.push({ op: "insert", table, position: String(2000 + i), after: thing(3 * ROWS + i, 4) });
    for (const { name, sink, size } of both) expect(await apply(sink, name, events, size, "6")).toEqual([]);
    for (const name of ["staged", "params"]) {
      const again = createPostgresSink({ url: db.url, schema: name });
      sinks.push(again);
      await again.open({ pipeline: name });
      await again.prepare(schema);
      await again.prepare(pairSchema);
      expect(await apply(again, name, events, name === "staged" ? ROWS : SMALL, "6")).toEqual([]);
      await again.close();
    }
    expect(await count("staged.things")).toBe(ROWS * 3 - 1);
    expect(await differences("things")).toBe(0);
  });

  it("aborts a COPY whose data fails to be made, leaving the session usable", async () => {
    const session = await PostgresSession.connect(resolvePostgresSinkConfig({ url: db.url, schema: "staged" }));
    try {
      await session.run("BEGIN");
      await session.run("SAVEPOINT before_copy");
      function* chunks(): Generator<Buffer> {
        yield Buffer.from("1\tone\n2\ttwo\n");
        throw new Error("could not make the next chunk");
      }
      await expect(session.copyInFrom("CREATE TEMPORARY TABLE zetl_abort (a int, b text); COPY zetl_abort FROM STDIN", chunks())).rejects.toThrow("could not make the next chunk");
      expect(session.broken).toBe(false);
      await session.run("ROLLBACK TO SAVEPOINT before_copy");
      expect(await session.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'zetl_abort'")).toEqual([{ n: 0 }]);
      await session.run("COMMIT");
    } finally {
      await session.destroy();
    }
  });

  it("keeps the parameter statements for a role that may not create temporary tables", async () => {
    const role = `zetl_notemp_${Math.random().toString(36).slice(2, 8)}`;
    await reader.query(`CREATE ROLE ${role} LOGIN`);
    await reader.query(`REVOKE TEMPORARY ON DATABASE ${db.name} FROM PUBLIC`);
    await reader.query(`GRANT CONNECT, CREATE ON DATABASE ${db.name} TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    const sink = createPostgresSink({ url: url.toString(), schema: "no_temp" });
    sinks.push(sink);
    try {
      await sink.open({ pipeline: "no_temp" });
      await sink.prepare(schema);
      const events: ChangeEvent[] = [];
      for (let i = 1; i <= ROWS; i++) events.push({ op: "insert", table, position: String(i), after: thing(i, 0) });
      expect(await apply(sink, "no_temp", events, ROWS, "1")).toEqual([]);
      expect(await count("no_temp.things")).toBe(ROWS);
    } finally {
      await sink.close();
      await reader.query(`GRANT TEMPORARY ON DATABASE ${db.name} TO PUBLIC`);
      await reader.query(`DROP OWNED BY ${role}`);
      await reader.query(`DROP ROLE ${role}`);
    }
  });
});
