import { runExample } from "@zero-etl/example-harness";
import { describe, expect, it } from "vitest";

// The README's command runs this program; keep it working.
describe("the lakehouse-analytics example", () => {
  it("lands DynamoDB orders in a day-partitioned Iceberg table and reports over it with DuckDB, before and after changes", () => {
    const result = runExample("examples/lakehouse-analytics/src/demo.ts", { ZETL_DEMO_ORDERS: "300" });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const reports = result.stdout.split("== DuckDB").slice(1);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatch(/in 5 day partitions/);
    expect(reports[0]).toMatch(/^2026-03-01\s+60\s+9696\.75\s+15\s+\d+$/m);
    expect(reports[0]).not.toMatch(/^2026-03-06/m);
    // after: 3 orders shipped at 1000.00 (one on each of the first three days), 2 deleted, 2 new on a new day
    expect(reports[1]).toMatch(/in 6 day partitions/);
    expect(reports[1]).toMatch(/^2026-03-01\s+60\s+10683\.50\s+16\s+\d+$/m);
    expect(reports[1]).toMatch(/^2026-03-04\s+59\s/m);
    expect(reports[1]).toMatch(/^2026-03-06\s+2\s+88\.25\s+0\s+\d+$/m);
    expect(result.stdout).toMatch(/^report equals a Scan of the DynamoDB table \(orders and revenue per day\): yes$/m);
  }, 120_000);
});
