import { describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, type PipelineCheckpoint, type TableSchema } from "@zero-etl/core";
import { createRecordingSink, createScriptedSource } from "@zero-etl/core/testing";

const schemaOf = (name: string, extra: readonly string[] = []): TableSchema => ({
  table: { namespace: "app", name },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    ...extra.map((column) => ({ name: column, type: { kind: "string" } as const, nullable: true })),
  ],
});
const a = schemaOf("a");
const t = schemaOf("t", ["v"]);
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const ids = (rows: readonly Record<string, unknown>[]) => rows.map((r) => r.id).sort((x, y) => Number(x) - Number(y));

describe("table changes from the source", () => {
  it("snapshots a table created after the pipeline started, then streams it", async () => {
    const source = createScriptedSource({ schemas: [a], initialRows: { "app.a": [{ id: 1n }] } });
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    const b = schemaOf("b", ["v"]);
    source.appendTableChange({ kind: "refresh", table: b.table, reason: "table created", schema: b, rows: [{ id: 1n, v: "x" }, { id: 2n, v: "y" }] });
    source.append([{ op: "insert", table: b.table, after: { id: 3n, v: "z" } }]);
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    expect(ids(sink.rows("app.b"))).toEqual([1n, 2n, 3n]);
    expect(result.checkpoint.tables["app.b"]?.state).toBe("synced");
    expect(ids(sink.rows("app.a"))).toEqual([1n]);
  });

  it("replaces a dropped and re-created table instead of merging it with its predecessor", async () => {
    const source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "old" }, { id: 2n, v: "old" }] } });
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    source.append([{ op: "insert", table: t.table, after: { id: 3n, v: "old" } }]);
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "table dropped" });
    source.appendTableChange({ kind: "refresh", table: t.table, reason: "table re-created", schema: t, rows: [{ id: 10n, v: "new" }] });
    source.append([{ op: "insert", table: t.table, after: { id: 11n, v: "new" } }]);
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    expect(sink.rows("app.t")).toEqual([{ id: 10n, v: "new" }, { id: 11n, v: "new" }]);
    expect(sink.dropped).toEqual(["app.t"]);
    expect(result.checkpoint.tables["app.t"]?.state).toBe("synced");
  });

  it("expresses a rename as the old table dropped and the new one read in full", async () => {
    const source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] } });
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    const t2 = schemaOf("t2", ["v"]);
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
    source.appendTableChange({ kind: "refresh", table: t2.table, reason: "renamed from app.t", schema: t2, rows: [{ id: 1n, v: "a" }, { id: 2n, v: "B" }] });
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    expect(sink.hasTable("app.t")).toBe(false);
    expect(sink.rows("app.t2")).toEqual([{ id: 1n, v: "a" }, { id: 2n, v: "B" }]);
    expect(result.checkpoint.tables["app.t"]?.state).toBe("dropped-at-source");
    expect(result.checkpoint.tables["app.t2"]?.state).toBe("synced");
  });

  it("ignores a dropped table's replayed changes and its own replayed drop", async () => {
    const source = createScriptedSource({ schemas: [t, a] });
    source.append([{ op: "insert", table: t.table, after: { id: 1n, v: "x" } }]);
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "table dropped" });
    source.append([{ op: "insert", table: a.table, after: { id: 5n } }]);
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(sink.hasTable("app.t")).toBe(false);
    expect(sink.dropped).toEqual(["app.t"]);
    expect(ids(sink.rows("app.a"))).toEqual([5n]);
    expect(result.checkpoint.tables["app.t"]?.state).toBe("dropped-at-source");
  });

  it("does not apply replayed events older than the refresh its target copy reflects", async () => {
    const source = createScriptedSource({ schemas: [t] });
    source.append([{ op: "insert", table: t.table, after: { id: 1n, v: "before the re-read" } }]);
    source.append([{ op: "insert", table: t.table, after: { id: 2n, v: "after the re-read" } }]);
    const checkpoints = createMemoryCheckpointStore();
    // a crash after the re-read (at position 2) and before the checkpoint moved past it
    const stored: PipelineCheckpoint = {
      pipeline: "p",
      phase: "streaming",
      position: "0",
      tables: { "app.t": { state: "synced", rows: 0, updatedAt: new Date(0).toISOString(), replacedAt: "2" } },
      savedAt: new Date(0).toISOString(),
    };
    await checkpoints.save(stored);
    const sink = createRecordingSink();
    const result = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(sink.rows("app.t")).toEqual([{ id: 2n, v: "after the re-read" }]);
    // past the refresh's position, the guard is no longer needed
    expect(result.checkpoint.tables["app.t"]?.replacedAt).toBeUndefined();
  });

  it("applies a replayed event whose transaction committed after the refresh, though its own position is older", async () => {
    const source = createScriptedSource({ schemas: [t] });
    // a row written before the table change by a transaction that committed after it: the re-read did not see it
    source.append([{ op: "insert", table: t.table, after: { id: 1n, v: "committed later" }, commitPosition: "3" }]);
    source.append([{ op: "insert", table: t.table, after: { id: 2n, v: "committed before" }, commitPosition: "1" }]);
    const checkpoints = createMemoryCheckpointStore();
    await checkpoints.save({
      pipeline: "p",
      phase: "streaming",
      position: "0",
      tables: { "app.t": { state: "synced", rows: 0, updatedAt: new Date(0).toISOString(), replacedAt: "2" } },
      savedAt: new Date(0).toISOString(),
    });
    const sink = createRecordingSink();
    await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(sink.rows("app.t")).toEqual([{ id: 1n, v: "committed later" }]);
  });

  it("snapshots a table added to the selection between runs, forgets one removed, and re-reads it when it comes back", async () => {
    const b = schemaOf("b", ["v"]);
    const checkpoints = createMemoryCheckpointStore();
    const sink = createRecordingSink();
    const onlyA = createScriptedSource({ schemas: [a], initialRows: { "app.a": [{ id: 1n }] } });
    await runPipeline({ name: "p", source: onlyA, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });

    const withB = createScriptedSource({ schemas: [a, b], initialRows: { "app.a": [{ id: 1n }], "app.b": [{ id: 1n, v: "x" }, { id: 2n, v: "y" }] } });
    const added = await runPipeline({ name: "p", source: withB, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(ids(sink.rows("app.b"))).toEqual([1n, 2n]);
    expect(added.checkpoint.tables["app.b"]?.state).toBe("synced");

    const removed = await runPipeline({ name: "p", source: onlyA, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(removed.checkpoint.tables["app.b"]).toBeUndefined();

    // while b was not selected its rows changed; selected again, it is read anew, never merged with the stale copy
    const back = createScriptedSource({ schemas: [a, b], initialRows: { "app.a": [{ id: 1n }], "app.b": [{ id: 2n, v: "y2" }, { id: 3n, v: "z" }] } });
    const result = await runPipeline({ name: "p", source: back, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(sink.rows("app.b")).toEqual([{ id: 2n, v: "y2" }, { id: 3n, v: "z" }]);
    expect(result.checkpoint.tables["app.b"]?.state).toBe("synced");
  });

  it("with an exact resync position, the replay skips what the re-read holds; without one it applies it again", async () => {
    const replayedUpdates = async (exactResync: boolean) => {
      const source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }] }, exactResync });
      const sink = createRecordingSink();
      const checkpoints = createMemoryCheckpointStore();
      await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
      const t2 = schemaOf("t2", ["v"]);
      source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
      source.appendTableChange({ kind: "refresh", table: t2.table, reason: "renamed from app.t", schema: t2, rows: [{ id: 1n, v: "a" }] });
      // committed before the re-read, so the re-read holds its effect
      source.append([{ op: "update", table: t2.table, key: { id: 1n }, before: { id: 1n, v: "a" }, after: { id: 2n, v: "a" } }]);
      const before = sink.events.length;
      const second = await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
      expect(sink.rows("app.t2")).toEqual([{ id: 2n, v: "a" }]);
      expect(second.checkpoint.tables["app.t2"]?.state).toBe("synced");
      const replayed = sink.events.slice(before).filter((e) => e.op === "update").length;
      // what comes after the re-read is applied as usual
      source.append([{ op: "update", table: t2.table, key: { id: 2n }, before: { id: 2n, v: "a" }, after: { id: 3n, v: "b" } }]);
      await runPipeline({ name: "p", source, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
      expect(sink.rows("app.t2")).toEqual([{ id: 3n, v: "b" }]);
      return replayed;
    };
    expect(await replayedUpdates(true)).toBe(0);
    expect(await replayedUpdates(false)).toBe(1);
  });

  it("does not apply the replayed events of a table left behind on resume (renamed away while stopped), after a crash too", async () => {
    const t2 = schemaOf("t2", ["w"]);
    // the same log as a fresh source object (a restarted process): the insert of the old shape, then the rename, made while stopped
    const withRename = (source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }] }, exactResync: true })) => {
      source.append([{ op: "insert", table: t.table, after: { id: 2n, v: "b" } }]);
      source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
      source.appendTableChange({ kind: "refresh", table: t2.table, reason: "renamed from app.t", schema: t2, rows: [{ id: 1n, w: "a" }, { id: 2n, w: "b" }] });
      return source;
    };
    const first = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }] }, exactResync: true });
    const sink = createRecordingSink();
    const checkpoints = createMemoryCheckpointStore();
    const start = await runPipeline({ name: "p", source: first, sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    const oldRows = (from: number) => sink.events.slice(from).filter((e) => e.table.name === "t" && e.op === "insert").length;
    const before = sink.events.length;
    const result = await runPipeline({ name: "p", source: withRename(first), sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(oldRows(before)).toBe(0);
    expect(sink.rows("app.t2")).toEqual([{ id: 1n, w: "a" }, { id: 2n, w: "b" }]);

    // a crash after the resume persisted that app.t left the selection, before the stream passed the rename: derived again
    await checkpoints.save({ ...result.checkpoint, position: start.checkpoint.position ?? "0" });
    const again = sink.events.length;
    await runPipeline({ name: "p", source: withRename(), sink, checkpoints, untilCaughtUp: true, retry: fastRetry });
    expect(oldRows(again)).toBe(0);
    expect(sink.rows("app.t2")).toEqual([{ id: 1n, w: "a" }, { id: 2n, w: "b" }]);
  });
});
