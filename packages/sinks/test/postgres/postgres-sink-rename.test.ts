import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createMemoryCheckpointStore, runPipeline, type TableSchema } from "@zero-etl/core";
import { createScriptedSource } from "@zero-etl/core/testing";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

let db: TestDatabase;
let reader: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase("pgsink_ren");
  reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
});

afterAll(async () => {
  await reader?.end();
  await db?.drop();
});

const table = { namespace: "app", name: "t" };
const schema = (version: number, ...names: string[]): TableSchema => ({
  table,
  version,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    ...names.map((name) => ({ name, type: { kind: "string" } as const, nullable: true })),
  ],
});
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

const columns = async () =>
  (await reader.query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 't' ORDER BY ordinal_position")).rows.map((r) => r.column_name);
const rows = async (...names: string[]) =>
  (await reader.query(`SELECT id::text, ${names.map((n) => `"${n}"`).join(", ")} FROM dw.t ORDER BY id`)).rows;

describe("postgres sink: columns renamed at the source", () => {
  it("renames the column in place, keeps its values, and a replayed rename changes nothing", async () => {
    const source = createScriptedSource({ schemas: [schema(1, "v")], initialRows: { "app.t": [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] } });
    const checkpoints = createMemoryCheckpointStore();
    // each run closes its sink (a sink holds the pipeline's writer lock while open)
    const run = async () => {
      const sink = createPostgresSink({ url: db.url, schema: "dw" });
      try {
        await runPipeline({ name: "ren", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
      } finally {
        await sink.close();
      }
    };
    await run();

    // the pipeline resumes with the source's current schema (w) before the rename is replayed: w is added empty first
    source.append([{ op: "schema", table, schema: schema(2, "w"), previous: schema(1, "v"), renamed: { w: "v" } }]);
    source.append([{ op: "update", table, key: { id: 1n }, after: { id: 1n, w: "A" } }]);
    await run();
    expect(await columns()).toEqual(["id", "w"]);
    expect(await rows("w")).toEqual([{ id: "1", w: "A" }, { id: "2", w: "b" }]);

    // replayed (old column gone): nothing changes
    const again = createPostgresSink({ url: db.url, schema: "dw" });
    await again.open({ pipeline: "ren" });
    await again.prepare(schema(2, "w"), { renamed: { w: "v" } });
    // the old name taken again by a new column with values, then a replay: both kept as they are
    await again.prepare(schema(3, "w", "v"));
    await reader.query("UPDATE dw.t SET v = 'new v' WHERE id = 2");
    await again.prepare(schema(3, "w", "v"), { renamed: { w: "v" } });
    await again.close();
    expect(await columns()).toEqual(["id", "w", "v"]);
    expect(await rows("w", "v")).toEqual([{ id: "1", w: "A", v: null }, { id: "2", w: "b", v: "new v" }]);
  });
});
