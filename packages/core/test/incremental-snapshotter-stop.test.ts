import { describe, expect, it } from "vitest";
import type { IncrementalSnapshotSource, TableSchema } from "../src/index.js";
import { createPipelineMetrics, silentLogger } from "../src/index.js";
import { IncrementalSnapshotter } from "../src/runtime/incremental-snapshotter.js";
import { TableTracker } from "../src/runtime/table-tracker.js";

const schema: TableSchema = {
  table: { namespace: "ns", name: "t" },
  columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }],
  primaryKey: ["id"],
  version: 1,
};

describe("IncrementalSnapshotter.stop", () => {
  it("ends a source call of the reading task that waits for the stream (a marker no stream delivers yet)", async () => {
    let called = false;
    // a source whose markers are delivered by its own running stream (DynamoDB): with no stream, the write waits until aborted
    const source: IncrementalSnapshotSource = {
      inProcessMarkers: true,
      emitMarker: (_content, signal) =>
        new Promise<void>((_resolve, reject) => {
          called = true;
          signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        }),
      readChunk: async () => ({ rows: [], last: true }),
    };
    const tracker = new TableTracker();
    tracker.setState("ns.t", "snapshotting");
    tracker.setIncremental("ns.t", { chunks: 0, rowsRead: 0 });
    const snapshotter = new IncrementalSnapshotter({
      pipeline: "p",
      source,
      tracker: () => tracker,
      schemaOf: () => schema,
      chunkRows: 10,
      markerKey: new Uint8Array(32),
      retrying: (_what, operation) => operation(),
      metrics: createPipelineMetrics(),
      log: silentLogger,
    });
    snapshotter.enqueue("ns.t");
    while (!called) await new Promise((resolve) => setTimeout(resolve, 5));
    // the run ends: stop must not wait for a marker that no stream will ever deliver
    const stopped = await Promise.race([snapshotter.stop().then(() => "stopped"), new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5000))]);
    expect(stopped).toBe("stopped");
  });
});
