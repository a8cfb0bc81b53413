import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, createPipelineMetrics, runPipeline, type MetricEvent, type TableSchema } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

const schema = (name: string): TableSchema => ({
  table: { namespace: "s", name },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "v", type: { kind: "string" }, nullable: true },
  ],
});
const a = schema("a");
const b = schema("b");

// The runtime counts a batch's rows once per table and operation (not once
// per event): the totals, the `rows` metric and the tables' last positions
// must still be exactly what the events add up to.
describe("per-batch row counts", () => {
  it("count every event once, per table and operation, with each table's last position", async () => {
    const source = createScriptedSource({ schemas: [a, b] });
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "t", source, sink: createRecordingSink(), checkpoints, untilCaughtUp: true });

    const events = [];
    for (let i = 1; i <= 30; i++) events.push({ op: "insert" as const, table: i % 3 === 0 ? b.table : a.table, after: { id: BigInt(i), v: `x${i}` } });
    source.append(events);
    source.append([
      { op: "update" as const, table: a.table, key: { id: 1n }, after: { id: 1n, v: "y" } },
      { op: "delete" as const, table: b.table, key: { id: 3n } },
      { op: "update" as const, table: a.table, key: { id: 2n }, after: { id: 2n, v: "y" } },
    ]);
    source.append([{ op: "insert" as const, table: b.table, after: { id: 99n, v: "z" } }]);
    const metrics = createPipelineMetrics();
    const rowEvents: MetricEvent[] = [];
    metrics.subscribe((event) => {
      if (event.type === "rows") rowEvents.push(event);
    });
    const result = await runPipeline({ name: "t", source, sink: createRecordingSink(), checkpoints, metrics, untilCaughtUp: true });

    expect(metrics.totals().rows).toEqual({ "s.a": { insert: 20, update: 2 }, "s.b": { insert: 11, delete: 1 } });
    expect(rowEvents.reduce((n, e) => n + (e.type === "rows" ? e.rows : 0), 0)).toBe(34);
    // one metric event per table and operation of a batch, not one per row
    expect(rowEvents.length).toBeLessThan(34);
    expect(result.checkpoint.tables["s.a"]?.rows).toBe(22);
    expect(result.checkpoint.tables["s.b"]?.rows).toBe(12);
    expect(result.checkpoint.tables["s.a"]?.lastPosition).toBe("2");
    expect(result.checkpoint.tables["s.b"]?.lastPosition).toBe("3");
  });
});
