import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../../../test-support/dynamodb-local.js";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { createDynamoDbDriver } from "../../../../fidelity/src/dynamodb-to-pg-driver.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";

// The differential fidelity fuzzer, DynamoDB Local -> PostgreSQL: the source
// read with a consistent Scan, the target with SQL, item by item.
describe("fidelity fuzzer: DynamoDB Local -> PostgreSQL", () => {
  let local: DynamoDbLocal;
  beforeAll(async () => {
    local = await startDynamoDbLocal();
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  for (const seed of CI_SEEDS["dynamodb-pg"]) {
    it(`seed ${seed}: the target equals the source`, async () => {
      const result = await runSeed({ driver: createDynamoDbDriver(local), seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }
});
