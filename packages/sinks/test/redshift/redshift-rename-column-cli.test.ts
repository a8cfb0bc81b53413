import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";

const runnerModule = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test-support/redshift/pg-translating-runner.ts");

// A text column renamed after the pipeline's checkpoint, before a run starts
// (a partitioned and a plain table): the existing rows must keep their values
// under the new name. Found by the fidelity fuzzer (pg-redshift seed 14: every existing
// row read NULL in the renamed column). Compared with plain SQL on both sides.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a column renamed before a run starts", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let s3: LocalS3<S3Client>;
  let config: string;
  const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };

  beforeAll(async () => {
    source = await createTestDatabase("rs_rencol_src");
    target = await createTestDatabase("rs_rencol_dst");
    s3 = await startS3rver((c) => new S3Client(c));
    await s3.client.send(new CreateBucketCommand({ Bucket: "rs-rencol" }));
    await source.query(`CREATE TABLE t (k int PRIMARY KEY, c text, n int) PARTITION BY HASH (k)`);
    await source.query(`CREATE TABLE t_p0 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 0)`);
    await source.query(`CREATE TABLE t_p1 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 1)`);
    await source.query(`CREATE TABLE u (k int PRIMARY KEY, c text, n int)`);
    await source.query(`INSERT INTO t SELECT g, 'c' || g, g FROM generate_series(1, 10) g; INSERT INTO u SELECT g, 'c' || g, g FROM generate_series(1, 10) g`);
    ({ file: config } = await writeConfig({
      name: "rs_rencol",
      source: { type: "postgres", url: source.url },
      target: {
        type: "redshift",
        url: target.url.replace(/^postgres(ql)?:/, "redshift:"),
        schema: "dw",
        staging: { uri: "s3://rs-rencol/loads", iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
        statementRunnerModule: runnerModule,
        writerLeaseSeconds: 3,
      },
    }));
  }, 120_000);

  afterAll(async () => {
    s3?.client.destroy();
    await s3?.stop();
    await source?.drop();
    await target?.drop();
  });

  it("keeps the existing rows' values under the new name", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    // renamed after the checkpoint, before the next run starts: that run's startup schema already has the
    // new name while its stream still replays the rename (as a run started just before the ALTER, or one
    // restarted after a kill -9, does)
    for (const t of ["t", "u"]) {
      await source.query(`ALTER TABLE ${t} RENAME COLUMN c TO c_r`);
      await source.query(`INSERT INTO ${t} (k, c_r, n) VALUES (11, 'c11', 11), (12, 'c12', 12)`);
      await source.query(`UPDATE ${t} SET n = n + 100 WHERE k IN (3, 4)`);
    }
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    for (const t of ["t", "u"]) {
      const expected = (await source.query(`SELECT k, c_r, n FROM ${t} ORDER BY k`)).rows;
      const actual = (await target.query(`SELECT k, c_r, n FROM dw.${t} ORDER BY k`)).rows;
      expect({ table: t, rows: actual }).toEqual({ table: t, rows: expected });
    }
  }, 180_000);
});
