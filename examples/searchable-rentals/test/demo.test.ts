import { openSearchUrl, runExample } from "@zero-etl/example-harness";
import { afterAll, describe, expect, it } from "vitest";

const prefix = `rentals_smoke_${process.pid}`;

// The README's command runs this program; keep it working.
describe("the searchable-rentals example", () => {
  afterAll(async () => {
    await fetch(`${openSearchUrl}/${prefix}*?expand_wildcards=all`, { method: "DELETE" });
  });

  it("replicates DynamoDB listings and hosts into OpenSearch and the searches follow live edits", () => {
    const result = runExample("examples/searchable-rentals/src/demo.ts", { ZETL_DEMO_INDEX_PREFIX: prefix });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const [before, after] = result.stdout.split("== searches after the edits");
    expect(before).toMatch(/^listings matching "sea view" in Lisbon under 120 a night: 2$/m);
    expect(before).toMatch(/^hosts named "Ana": 4$/m);
    expect(result.stdout).toMatch(/^all four edits searchable after [\d.]+ s$/m);
    expect(after).toMatch(/^listings matching "sea view" in Lisbon under 120 a night: 4$/m);
    expect(after).toMatch(/^ {2}LISTING#100\|LISTING\s+Sea view penthouse in Lisbon \| 95$/m);
    expect(after).toMatch(/^ {2}LISTING#36\|LISTING\s+Sea view apartment in Lisbon \| 99$/m);
    expect(after).toMatch(/^listings with wifi and 3 bedrooms in Portugal: 3$/m);
    expect(after).not.toMatch(/LISTING#20\|/);
    expect(after).toMatch(/^ {2}HOST#1\|PROFILE\s+Ana Costa \| false$/m);
    expect(result.stdout).toMatch(/^zeroetl run stopped with exit code 0$/m);
  }, 120_000);
});
