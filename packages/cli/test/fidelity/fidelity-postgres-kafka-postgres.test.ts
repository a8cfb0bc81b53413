import { describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import { pgKafkaPgDriver } from "../../../../fidelity/src/pg-kafka-pg-driver.js";

// The differential fidelity fuzzer, PostgreSQL -> Kafka -> a Kafka-source
// worker -> PostgreSQL: two pipelines per phase (the capture, then the worker
// until the target equals the source), both killed with SIGKILL in a kill
// phase; source and target compared by plain SQL on both sides.
describe("fidelity fuzzer: PostgreSQL -> Kafka -> PostgreSQL", () => {
  for (const seed of CI_SEEDS["pg-kafka-pg"]) {
    it(`seed ${seed}: the worker's target equals the source`, async () => {
      const result = await runSeed({ driver: pgKafkaPgDriver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 240_000);
  }
});
