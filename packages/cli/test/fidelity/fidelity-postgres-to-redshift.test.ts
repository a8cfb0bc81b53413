import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CI_SEEDS } from "../../../../fidelity/src/ci-seeds.js";
import { runSeed } from "../../../../fidelity/src/fidelity-harness.js";
import type { PairDriver } from "../../../../fidelity/src/pair-driver.js";
import { createPgToRedshiftDriver } from "../../../../fidelity/src/pg-to-redshift-driver.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";

// The differential fidelity fuzzer, PostgreSQL -> Redshift through the
// PostgreSQL-translating double: the target tables are real PostgreSQL tables
// read back with plain SQL (pg-pg's reader, Redshift's type rules in
// docs/fidelity.md), and every statement the sink sent during the seed must
// parse as Redshift (sqlglot's redshift dialect plus the deny-list).
describe("fidelity fuzzer: PostgreSQL -> Redshift (translating double)", () => {
  let s3: LocalS3<S3Client>;
  let driver: PairDriver;

  beforeAll(async () => {
    s3 = await startS3rver((c) => new S3Client(c));
    driver = createPgToRedshiftDriver(s3);
  });

  afterAll(async () => {
    s3?.client.destroy();
    await s3?.stop();
  });

  for (const seed of CI_SEEDS["pg-redshift"]) {
    it(`seed ${seed}: every target table equals its source table and every statement parses as Redshift`, async () => {
      const result = await runSeed({ driver, seed });
      expect(result.failure?.report).toBeUndefined();
      expect(result.events).toBeGreaterThan(0);
    }, 180_000);
  }
});
