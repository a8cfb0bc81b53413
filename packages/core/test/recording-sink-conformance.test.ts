import { describeSinkConformance, createRecordingSink, type RecordingSink } from "@zero-etl/core/testing";
import { tableKey } from "@zero-etl/core";

// The recording sink is the reference the other sinks are compared with, so
// it must pass the same suite. One instance plays the "target"; every
// createSink() returns a view of it whose unflushed writes are its own.
let target: RecordingSink;
describeSinkConformance({
  name: "recording",
  async setup() {
    target = createRecordingSink({ capabilities: { checkpointsInTarget: true } });
    return {
      createSink: async () => target,
      readRows: async (table) => target.rows(tableKey(table)),
      cleanup: async () => {},
    };
  },
});
