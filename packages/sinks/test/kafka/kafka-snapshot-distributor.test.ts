import { describe, expect, it } from "vitest";
import { planWorkRanges } from "../../src/kafka/kafka-snapshot-distributor.js";

describe("planWorkRanges", () => {
  it("covers every block once, in ranges of chunkBlocks, the last one open-ended", () => {
    for (const [blocks, chunk] of [
      [0, 4],
      [1, 4],
      [4, 4],
      [5, 4],
      [264, 4],
      [1000, 7],
    ] as const) {
      const ranges = planWorkRanges(blocks, chunk);
      expect(ranges[0]?.from).toBe(0);
      expect(ranges.at(-1)?.to).toBeUndefined();
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.from).toBe(ranges[i - 1]?.to);
      for (const r of ranges.slice(0, -1)) expect((r.to ?? 0) - r.from).toBe(chunk);
      expect(ranges.length).toBe(Math.max(1, Math.ceil(blocks / chunk)));
    }
  });
});
