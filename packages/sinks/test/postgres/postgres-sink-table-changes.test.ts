import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createMemoryCheckpointStore, runPipeline, type TableSchema } from "@zero-etl/core";
import { createScriptedSource } from "@zero-etl/core/testing";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

let db: TestDatabase;
let reader: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase("pgsink_tc");
  reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
});

afterAll(async () => {
  await reader?.end();
  await db?.drop();
});

const schemaOf = (name: string, valueType: "string" | "int"): TableSchema => ({
  table: { namespace: "app", name },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "v", type: valueType === "string" ? { kind: "string" } : { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
});
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

async function tableRows(name: string): Promise<unknown[] | undefined> {
  const exists = await reader.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'dw' AND table_name = $1", [name]);
  if (exists.rowCount === 0) return undefined;
  return (await reader.query(`SELECT id::text, v::text FROM dw."${name}" ORDER BY id`)).rows;
}

describe("postgres sink: table changes from the source", () => {
  it("drops a table renamed away, replaces a re-created one with a new shape, and reads the new name in full", async () => {
    const t = schemaOf("t", "string");
    const source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] } });
    const checkpoints = createMemoryCheckpointStore();
    const run = async () => {
      // one sink per run, closed after it, as the CLI does: the sink holds the pipeline's writer lock while open
      const sink = createPostgresSink({ url: db.url, schema: "dw" });
      try {
        return await runPipeline({ name: "tc", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
      } finally {
        await sink.close();
      }
    };
    await run();
    expect(await tableRows("t")).toEqual([{ id: "1", v: "a" }, { id: "2", v: "b" }]);

    // renamed away: the old table goes, the new name holds every row
    const t2 = schemaOf("t2", "string");
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
    source.appendTableChange({ kind: "refresh", table: t2.table, reason: "renamed from app.t", schema: t2, rows: [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] });
    await run();
    expect(await tableRows("t")).toBeUndefined();
    expect(await tableRows("t2")).toEqual([{ id: "1", v: "a" }, { id: "2", v: "b" }]);

    // re-created with another column type: the target table is replaced, not merged or refused
    const t2int = schemaOf("t2", "int");
    source.appendTableChange({ kind: "dropped", table: t2.table, reason: "table dropped" });
    source.appendTableChange({ kind: "refresh", table: t2.table, reason: "table re-created", schema: t2int, rows: [{ id: 7n, v: 70 }] });
    source.append([{ op: "insert", table: t2.table, after: { id: 8n, v: 80 } }]);
    const result = await run();
    expect(await tableRows("t2")).toEqual([{ id: "7", v: "70" }, { id: "8", v: "80" }]);
    const type = await reader.query("SELECT data_type FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 't2' AND column_name = 'v'");
    expect(type.rows[0]?.data_type).toBe("integer");
    expect(result.checkpoint.tables["app.t2"]?.state).toBe("synced");
    expect(result.checkpoint.tables["app.t"]?.state).toBe("dropped-at-source");
  });
});
