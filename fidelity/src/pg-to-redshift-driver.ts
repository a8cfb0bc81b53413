import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { createTestDatabase } from "../../test-support/postgres.js";
import { checkRedshiftSyntax } from "../../test-support/redshift/redshift-syntax-check.js";
import type { LocalS3 } from "../../test-support/s3rver.js";
import type { PairDriver } from "./pair-driver.js";
import { comparePgSchemas, executePgStep, openReadClient } from "./pg-to-pg-driver.js";
import { generatePgWorkload, pgLayoutOf } from "./pg-workload-generator.js";
import type { Difference } from "./table-comparator.js";

const runnerModule = resolve(dirname(fileURLToPath(import.meta.url)), "../../test-support/redshift/pg-translating-runner.ts");

/**
 * Every distinct statement in a translating runner's log that sqlglot's
 * Redshift grammar (plus the deny-list) refuses, as differences of the
 * pseudo-table `(redshift syntax)`.
 */
export async function redshiftSyntaxDifferences(logFile: string): Promise<Difference[]> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const statements = [...new Set(text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as string))];
  if (statements.length === 0) return [{ table: "(redshift syntax)", key: "*", column: "*", source: "statements", target: "none logged" }];
  return (await checkRedshiftSyntax(statements)).map((f) => ({ table: "(redshift syntax)", key: f.statement.slice(0, 200), column: "*", source: "valid Redshift", target: f.reason }));
}

/**
 * PostgreSQL -> Redshift through the PostgreSQL-translating test double
 * (`test-support/redshift/pg-translating-runner.ts`, loaded by the CLI via
 * `target.statementRunnerModule`): a fresh source and "Redshift" database
 * per seed (target schema `dw`), staging in a bucket of its own on the
 * pair's s3rver. The double's tables are real PostgreSQL tables, so the
 * comparison is pg-pg's plain SQL on both sides with the Redshift type
 * rules of docs/fidelity.md; every statement the sink sent during the seed
 * must also pass sqlglot's Redshift grammar (checked in `compare`).
 */
export function createPgToRedshiftDriver(s3: LocalS3<S3Client>): PairDriver {
  return {
    pair: "pg-redshift",
    prefix: "redshift",
    // DECIMAL holds at most 38 digits: widenings stop there (as for Iceberg); tables are named by
    // the source table name (the CLI offers schema_table to PostgreSQL targets only)
    generate: (rng, on, focus) => generatePgWorkload({ rng, on, focus, maxNumericPrecision: 38, qualifiedNames: false }),
    async open(label, workload, on) {
      const sourceDb = await createTestDatabase(`fz_${label}_s`);
      const targetDb = await createTestDatabase(`fz_${label}_t`);
      const bucket = `fz-${label}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
      await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
      const logDir = await mkdtemp(join(tmpdir(), "zetl-fz-rs-"));
      const logFile = join(logDir, "statements.jsonl");
      const writer = new pg.Client({ connectionString: sourceDb.url });
      await writer.connect();
      return {
        config: {
          source: { type: "postgres", url: sourceDb.url },
          target: {
            type: "redshift",
            url: targetDb.url.replace(/^postgres(ql)?:/, "redshift:"),
            schema: "dw",
            staging: { uri: `s3://${bucket}/loads`, iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
            // a run after a kill -9 waits this long for the killed run's lease
            writerLeaseSeconds: 3,
            statementRunnerModule: runnerModule,
          },
          // Redshift alters a column's type in place only for VARCHAR: any other widening is
          // refused and the table resynced (docs/connectors/redshift.md), as a user would configure
          autoResync: true,
          ...pgLayoutOf(workload).config,
        },
        env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", ZETL_REDSHIFT_STATEMENT_LOG: logFile },
        execute: (step) => executePgStep(writer, step.text),
        async compare(options) {
          const source = await openReadClient(sourceDb.url);
          const target = await openReadClient(targetDb.url);
          try {
            const diffs = await comparePgSchemas({ source, target, targetSchema: "dw", workload, jsonExact: on("json-exact"), ...(options?.twins === false ? { twins: false } : {}) });
            diffs.push(...(await redshiftSyntaxDifferences(logFile)));
            return diffs;
          } finally {
            await source.end();
            await target.end();
          }
        },
        async close() {
          await writer.end();
          await sourceDb.drop();
          await targetDb.drop();
          const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
          const keys = (listed.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
          if (keys.length > 0) await s3.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
          await s3.client.send(new DeleteBucketCommand({ Bucket: bucket }));
          await rm(logDir, { recursive: true, force: true });
        },
      };
    },
  };
}
