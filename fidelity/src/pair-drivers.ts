import { startDynamoDbLocal } from "../../test-support/dynamodb-local.js";
import { createDynamoDbDriver } from "./dynamodb-to-pg-driver.js";
import type { PairDriver, PairName } from "./pair-driver.js";
import { mysqlToPgDriver } from "./mysql-to-pg-driver.js";
import { pgKafkaPgDriver } from "./pg-kafka-pg-driver.js";
import { pgToIcebergDriver } from "./pg-to-iceberg-driver.js";
import { pgToOpenSearchDriver } from "./pg-to-opensearch-driver.js";
import { pgToPgDriver } from "./pg-to-pg-driver.js";
import { createPgToRedshiftDriver } from "./pg-to-redshift-driver.js";
import { S3Client } from "@aws-sdk/client-s3";
import { startS3rverProcess } from "../../test-support/s3rver.js";

/** A driver and how to stop what it started (DynamoDB Local, a fetch shim). */
export interface RunningDriver {
  readonly driver: PairDriver;
  stop(): Promise<void>;
}

/** Starts the driver of a pair (and any local service it needs, once for all its seeds). */
export async function startPairDriver(pair: PairName): Promise<RunningDriver> {
  switch (pair) {
    case "pg-pg":
      return { driver: pgToPgDriver, stop: async () => undefined };
    case "mysql-pg":
      return { driver: mysqlToPgDriver, stop: async () => undefined };
    case "pg-iceberg":
      return { driver: pgToIcebergDriver, stop: async () => undefined };
    case "pg-opensearch":
      return { driver: pgToOpenSearchDriver, stop: async () => undefined };
    case "pg-kafka-pg":
      return { driver: pgKafkaPgDriver, stop: async () => undefined };
    case "pg-redshift": {
      // one s3rver for all seeds (a bucket per seed) for the sink's staged COPY files (in its own process: see s3rver-main.mjs)
      const s3 = await startS3rverProcess((c) => new S3Client(c));
      return {
        driver: createPgToRedshiftDriver(s3),
        async stop() {
          s3.client.destroy();
          await s3.stop();
        },
      };
    }
    case "dynamodb-pg": {
      const local = await startDynamoDbLocal();
      return { driver: createDynamoDbDriver(local), stop: () => local.stop() };
    }
  }
}
