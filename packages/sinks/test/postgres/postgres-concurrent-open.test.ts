import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TableSchema } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

// Several pipelines (Kafka workers of one consumer group, or two pipelines
// sharing a warehouse schema) starting at the same moment against a fresh
// target: each creates the schema, the state tables and the data tables it
// needs. `CREATE … IF NOT EXISTS` is not safe against a concurrent creator in
// PostgreSQL (the loser fails on pg_type's or pg_namespace's unique index,
// 23505), so the sink must serialize its DDL itself.
describe("PostgreSQL sink: pipelines opening one fresh target schema at once", () => {
  let target: TestDatabase;

  beforeAll(async () => {
    target = await createTestDatabase("concurrent_open");
  });

  afterAll(async () => {
    await target?.drop();
  });

  const orders: TableSchema = {
    table: { namespace: "public", name: "orders" },
    columns: [
      { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "note", type: { kind: "string" }, nullable: true },
    ],
    primaryKey: ["id"],
    version: 1,
  };

  it("creates the schema, the state tables and a shared data table once, with no error in any of them", async () => {
    for (let round = 0; round < 3; round++) {
      const schema = `fresh_${round}`;
      const sinks = Array.from({ length: 6 }, () => createPostgresSink({ url: target.url, schema }));
      try {
        const opened = await Promise.allSettled(
          sinks.map(async (sink, i) => {
            const context = { pipeline: `worker_${i}` };
            await sink.lock?.(context);
            await sink.open(context);
            await sink.prepare(orders);
          }),
        );
        const failures = opened.flatMap((r) => (r.status === "rejected" ? [String((r.reason as Error).message)] : []));
        expect(failures).toEqual([]);
      } finally {
        for (const sink of sinks) await sink.close();
      }
      const tables = await target.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
      expect(tables.rows.map((r) => r.name)).toEqual(["_zeroetl_checkpoints", "_zeroetl_table_state", "orders"]);
    }
  });
});
