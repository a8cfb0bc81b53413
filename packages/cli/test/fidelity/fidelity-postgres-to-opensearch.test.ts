import { describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import { pgToOpenSearchDriver } from "../../../../fidelity/src/pg-to-opensearch-driver.js";

// The differential fidelity fuzzer, PostgreSQL -> OpenSearch: every index read
// back with plain HTTP (_refresh, scroll sorted by _doc, the response parsed
// with exact numbers), never with the sink's code or the OpenSearch client.
describe("fidelity fuzzer: PostgreSQL -> OpenSearch", () => {
  for (const seed of CI_SEEDS["pg-opensearch"]) {
    it(`seed ${seed}: every index equals its source table`, async () => {
      const result = await runSeed({ driver: pgToOpenSearchDriver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }
});
