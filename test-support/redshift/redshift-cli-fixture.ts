import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { createTestDatabase, type TestDatabase } from "../postgres.js";
import { startS3rver, type LocalS3 } from "../s3rver.js";

/** The test-only statement runner that runs the Redshift sink's SQL on PostgreSQL. */
export const TRANSLATING_RUNNER_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), "pg-translating-runner.ts");

/**
 * What a PostgreSQL → Redshift CLI test stands on: a source database, a
 * target database standing in for the cluster (the sink's statements are run
 * there by {@link TRANSLATING_RUNNER_MODULE}), and a local S3 server with the
 * staging bucket the `COPY`s read from.
 */
export interface RedshiftCliFixture {
  readonly source: TestDatabase;
  readonly target: TestDatabase;
  readonly s3: LocalS3<S3Client>;
  /** The environment a CLI run needs to reach the local S3 server. */
  readonly env: NodeJS.ProcessEnv;
  /** The config's `target`: the Redshift sink on the target database, staging in the fixture's bucket, schema `dw`. */
  readonly targetConfig: Record<string, unknown>;
  /** Stops the S3 server and drops both databases. */
  close(): Promise<void>;
}

/** Opens a {@link RedshiftCliFixture}; `name` prefixes the databases and names the bucket. */
export async function openRedshiftCliFixture(name: string): Promise<RedshiftCliFixture> {
  const bucket = name.replace(/_/g, "-");
  const source = await createTestDatabase(`${name}_src`);
  const target = await createTestDatabase(`${name}_dst`);
  const s3 = await startS3rver((c) => new S3Client(c));
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    source,
    target,
    s3,
    env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" },
    targetConfig: {
      type: "redshift",
      url: target.url.replace(/^postgres(ql)?:/, "redshift:"),
      schema: "dw",
      staging: { uri: `s3://${bucket}/loads`, iamRole: "arn:aws:iam::123456789012:role/zeroetl-copy", endpoint: s3.endpoint, forcePathStyle: true },
      statementRunnerModule: TRANSLATING_RUNNER_MODULE,
    },
    async close() {
      s3.client.destroy();
      await s3.stop();
      await source.drop();
      await target.drop();
    },
  };
}
