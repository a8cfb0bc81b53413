import { describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import { pgToIcebergDriver } from "../../../../fidelity/src/pg-to-iceberg-driver.js";

// The differential fidelity fuzzer, PostgreSQL -> Iceberg: the table read back
// from its metadata, manifests (icebird) and data files (DuckDB), with the
// equality deletes applied by the comparator, never by the sink's reader.
describe("fidelity fuzzer: PostgreSQL -> Iceberg", () => {
  for (const seed of CI_SEEDS["pg-iceberg"]) {
    it(`seed ${seed}: the lake table equals the source`, async () => {
      const result = await runSeed({ driver: pgToIcebergDriver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }
});
