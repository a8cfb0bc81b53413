import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, type TableSchema } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

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

describe("a column renamed at the source", () => {
  it("reaches sink.prepare as a rename, so rows written before it keep their values under the new name", async () => {
    const source = createScriptedSource({ schemas: [schema(1, "v", "n")], initialRows: { "app.t": [{ id: 1n, v: "a", n: "1" }, { id: 2n, v: "b", n: "2" }] } });
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    // `gone` is no column of the new schema: not passed on (the target has nothing to rename it to)
    source.append([{ op: "schema", table, schema: schema(2, "w", "n"), previous: schema(1, "v", "n"), renamed: { w: "v", gone: "n" } }]);
    source.append([{ op: "update", table, key: { id: 1n }, after: { id: 1n, w: "A", n: "1" } }]);
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    expect(sink.renames).toEqual([{ table: "app.t", renamed: { w: "v" } }]);
    expect([...sink.rows("app.t")].sort((x, y) => Number(x.id) - Number(y.id))).toEqual([{ id: 1n, w: "A", n: "1" }, { id: 2n, w: "b", n: "2" }]);
    expect(sink.schema("app.t")?.columns.map((c) => c.name)).toEqual(["id", "w", "n"]);
    expect(result.snapshotted).toBe(false);
  });

  it("re-reads the table instead when the sink cannot rename", async () => {
    const source = createScriptedSource({ schemas: [schema(1, "v")], initialRows: { "app.t": [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] } });
    const sink = createRecordingSink({ capabilities: { renames: false } });
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    source.append([{ op: "schema", table, schema: schema(2, "w"), previous: schema(1, "v"), renamed: { w: "v" } }]);
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(sink.renames).toEqual([]);
    // both rows read again, once: the replayed schema event does not ask for another re-read
    expect(result.rows["app.t"]).toBe(2);
    expect(result.checkpoint.tables["app.t"]?.state).toBe("synced");
  });
});
