import { runExample } from "@zero-etl/example-harness";
import { describe, expect, it } from "vitest";

// The README's command runs this program; keep it working.
describe("the zero-downtime-migration example", () => {
  it("snapshots, streams under load to zero lag, pauses writes, catches up and ends with identical databases", () => {
    const result = runExample("examples/zero-downtime-migration/src/demo.ts", { ZETL_DEMO_ACCOUNTS: "2000" });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^snapshot done, streaming: [\d.]+ s \(while the application wrote \d+ transactions\)$/m);
    expect(result.stdout).toMatch(/^ {2}public\.accounts\s+synced\s+\d+ rows applied$/m);
    expect(result.stdout).toMatch(/^ {2}lag 0\.0 s, /m);
    expect(result.stdout).toMatch(/^1\. writes paused after \d+ application transactions, old database read-only: [\d.]+ s$/m);
    expect(result.stdout).toMatch(/^2\. final catch-up to the old database's last position [0-9A-F]+\/[0-9A-F]+: [\d.]+ s$/m);
    expect(result.stdout).toMatch(/^3\. compared \(row counts and an md5 over every row\): identical, [\d.]+ s$/m);
    const old = /old transfers (\d+) rows, md5 (\w+)/.exec(result.stdout);
    const now = /new transfers (\d+) rows, md5 (\w+)/.exec(result.stdout);
    expect(Number(old?.[1])).toBeGreaterThan(4000);
    expect(now?.slice(1)).toEqual(old?.slice(1));
    expect(result.stdout).toMatch(/^4\. pipeline stopped \(exit code 0\); the application writes to the new database: [\d.]+ s$/m);
    expect(result.stdout).toMatch(/^writes were paused for [\d.]+ s in all; the whole migration took [\d.]+ s$/m);
  }, 120_000);
});
