import { describe, expect, it } from "vitest";
import { planCtidRanges } from "../../src/postgres/postgres-snapshot-copy.js";

/** The ranges cover every block from 0 on, without gaps or overlaps, the last one open-ended. */
function expectCovering(ranges: readonly { from: number; to: number | undefined }[]): void {
  expect(ranges[0]?.from).toBe(0);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.from).toBe(ranges[i - 1]?.to);
  expect(ranges[ranges.length - 1]?.to).toBeUndefined();
}

describe("planCtidRanges", () => {
  it("reads a small table in one stream", () => {
    expect(planCtidRanges(0, 4)).toEqual([{ from: 0, to: undefined }]);
    expect(planCtidRanges(1023, 4)).toEqual([{ from: 0, to: undefined }]);
  });

  it("splits a big table into twice the parallelism, covering every block", () => {
    const ranges = planCtidRanges(20_000, 2);
    expect(ranges).toHaveLength(4);
    expectCovering(ranges);
    expect(ranges.map((r) => r.from)).toEqual([0, 5000, 10000, 15000]);
  });

  it("makes no range smaller than 1024 blocks and none larger than 131072", () => {
    const few = planCtidRanges(2500, 8);
    expect(few).toHaveLength(2);
    expectCovering(few);
    const huge = planCtidRanges(1_000_000, 2);
    expectCovering(huge);
    for (const r of huge) expect((r.to ?? 1_000_000) - r.from).toBeLessThanOrEqual(131_072);
    // one connection still splits a table too big for one range
    expect(planCtidRanges(300_000, 1).length).toBeGreaterThan(1);
    expect(planCtidRanges(100_000, 1)).toEqual([{ from: 0, to: undefined }]);
  });
});
