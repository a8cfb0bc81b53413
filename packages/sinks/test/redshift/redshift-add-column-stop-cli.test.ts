import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";

const runnerModule = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test-support/redshift/pg-translating-runner.ts");

// A column added while the pipeline is stopped, in the same stop as an ADD
// COLUMN ... DEFAULT on another table (which re-reads that table): the rows
// after it must land with the new column's values. Found by the fidelity
// fuzzer (pg-redshift seed 18: NULL at the target).
// Compared with plain SQL on both sides.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a column added in the same stop as a re-read of another table", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let s3: LocalS3<S3Client>;
  let config: string;
  const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };

  beforeAll(async () => {
    source = await createTestDatabase("rs_addcol2_src");
    target = await createTestDatabase("rs_addcol2_dst");
    s3 = await startS3rver((c) => new S3Client(c));
    await s3.client.send(new CreateBucketCommand({ Bucket: "rs-addcol2" }));
    // doc: a SUPER column, so the table is staged as JSON lines; p: staged as Parquet
    await source.query(`CREATE TABLE j (id int PRIMARY KEY, doc jsonb)`);
    await source.query(`CREATE TABLE p (id int PRIMARY KEY, name text)`);
    await source.query(`INSERT INTO j SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 5) g; INSERT INTO p SELECT g, 'p' || g FROM generate_series(1, 5) g`);
    ({ file: config } = await writeConfig({
      name: "rs_addcol2",
      source: { type: "postgres", url: source.url },
      target: {
        type: "redshift",
        url: target.url.replace(/^postgres(ql)?:/, "redshift:"),
        schema: "dw",
        staging: { uri: "s3://rs-addcol2/loads", iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
        statementRunnerModule: runnerModule,
      },
    }));
  }, 120_000);

  afterAll(async () => {
    s3?.client.destroy();
    await s3?.stop();
    await source?.drop();
    await target?.drop();
  });

  it("keeps the added column's values of the rows after the ALTER", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO p (id, name) VALUES (6, 'p6')`);
    await source.query(`ALTER TABLE j ADD COLUMN at timestamptz DEFAULT '2074-10-21 05:39:27+05:30'`);
    await source.query(`INSERT INTO j (id, at) VALUES (6, '1992-06-19 16:35:28+05:30')`);
    await source.query(`ALTER TABLE p ADD COLUMN r int4range`);
    await source.query(`INSERT INTO p (id, name, r) VALUES (7, 'p7', 'empty'), (8, 'p8', '[1,5)')`);
    await source.query(`UPDATE j SET doc = '{}' WHERE id = 2`);
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    const expected = (await source.query(`SELECT id, name, r::text AS r FROM p ORDER BY id`)).rows;
    const actual = (await target.query(`SELECT id, name, r FROM dw.p ORDER BY id`)).rows;
    expect(actual).toEqual(expected);
    const expectedJ = (await source.query(`SELECT id, doc::text AS doc, at FROM j ORDER BY id`)).rows;
    const actualJ = (await target.query(`SELECT id, doc::jsonb::text AS doc, at FROM dw.j ORDER BY id`)).rows;
    expect(actualJ).toEqual(expectedJ);
  }, 180_000);
});
