import { runExample } from "@zero-etl/example-harness";
import { describe, expect, it } from "vitest";

// The README's command runs this program; keep it working.
describe("the embedded-service example", () => {
  it("serves /healthz and /metrics beside a live pipeline and stops cleanly on SIGTERM with a durable checkpoint", () => {
    const result = runExample("examples/embedded-service/src/demo.ts", { ZETL_DEMO_ORDERS: "2000" });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^GET \/healthz -> 200, snapshot done after [\d.]+ s: \{"status":"running".*"public\.orders":\{"state":"synced","rows":2000\}/m);
    expect(result.stdout).toMatch(/^ {2}zeroetl_rows_total\{pipeline="embedded_demo",table="public\.orders",operation="delete"\} 1$/m);
    expect(result.stdout).toMatch(/^ {2}zeroetl_rows_total\{pipeline="embedded_demo",table="public\.orders",operation="update"\} 5$/m);
    expect(result.stdout).toMatch(/^service exited with code 0$/m);
    expect(result.stdout).toMatch(/^checkpoint in the replica: [0-9A-F]+\/[0-9A-F]+, covers the last change \([0-9A-F]+\/[0-9A-F]+\): yes$/m);
    expect(result.stdout).toMatch(/^ {2}orders\s+source\s+2001\s+replica\s+2001\s+identical$/m);
    expect(result.stdout).toMatch(/^ {2}customers\s+source\s+200\s+replica\s+200\s+identical$/m);
  });
});
