import { describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import { mysqlToPgDriver } from "../../../../fidelity/src/mysql-to-pg-driver.js";

// The differential fidelity fuzzer, MariaDB -> PostgreSQL: MariaDB read over
// the binary protocol (exact doubles), the target with SQL.
describe("fidelity fuzzer: MariaDB -> PostgreSQL", () => {
  for (const seed of CI_SEEDS["mysql-pg"]) {
    it(`seed ${seed}: the target equals the source`, async () => {
      const result = await runSeed({ driver: mysqlToPgDriver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }
});
