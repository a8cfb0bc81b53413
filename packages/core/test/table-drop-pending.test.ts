import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, ZeroEtlError, type Sink, type TableSchema } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

const schemaOf = (name: string): TableSchema => ({
  table: { namespace: "app", name },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "v", type: { kind: "string" }, nullable: true },
  ],
});
const t = schemaOf("t");
const a = schemaOf("a");
const fastRetry = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2 };

// A drop whose batch has rows pending: the runtime makes them durable with a
// checkpoint past the drop before it removes the target table. A crash in
// between (here: the sink's drop fails and the run ends) must not leave the
// target table behind, since the replay starts after the drop (fuzzer pg-pg
// seed 76; through the CLI in packages/cli/test/postgres-rename-kill.test.ts).
describe("a drop interrupted after its checkpoint", () => {
  it("is recorded as pending in that checkpoint and done by the next run", async () => {
    const source = createScriptedSource({ schemas: [t, a], initialRows: { "app.t": [{ id: 1n, v: "x" }], "app.a": [{ id: 1n, v: "x" }] } });
    const recording = createRecordingSink();
    let failDrop = true;
    // the same sink whose dropTable fails once, as a crash right before it would
    const sink = new Proxy(recording, {
      get(target, prop, receiver) {
        if (prop === "dropTable" && failDrop) {
          return async () => {
            failDrop = false;
            throw new ZeroEtlError("crash before the drop", { code: "internal", retryable: false });
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as Sink;
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    source.append([{ op: "insert", table: a.table, after: { id: 2n, v: "y" } }]);
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
    await expect(runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry })).rejects.toThrow(/crash before the drop/);
    const interrupted = await checkpoints.load("p");
    expect(interrupted?.tables["app.t"]).toMatchObject({ state: "dropped-at-source", dropPending: true });
    expect(recording.hasTable("app.t")).toBe(true);

    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(recording.hasTable("app.t")).toBe(false);
    expect(recording.dropped).toEqual(["app.t"]);
    expect(result.checkpoint.tables["app.t"]?.state).toBe("dropped-at-source");
    expect(result.checkpoint.tables["app.t"]?.dropPending).toBeUndefined();
    expect(recording.rows("app.a").map((r) => r.id)).toEqual([1n, 2n]);
  });
});
