import pg from "pg";
import { deleteKafkaTopics } from "../../test-support/kafka.js";
import { createTestDatabase } from "../../test-support/postgres.js";
import type { PairDriver } from "./pair-driver.js";
import { comparePgSchemas, executePgStep, openReadClient } from "./pg-to-pg-driver.js";
import { generatePgWorkload, pgLayoutOf } from "./pg-workload-generator.js";

/** The test broker (scripts/test-services.sh). */
export function kafkaBroker(): string {
  return process.env.ZEROETL_TEST_KAFKA ?? "127.0.0.1:59092";
}

/** Partitions of each table topic: more than one, so that a row's versions must keep their order by key. */
const TOPIC_PARTITIONS = 3;

/**
 * PostgreSQL -> Kafka (Debezium JSON, `TOPIC_PARTITIONS` partitions per
 * table, a unique topic prefix per seed) -> a Kafka-source worker applying
 * to PostgreSQL schema `dw`. Two pipelines: the capture (`config`) and the
 * worker (`downstream`), which the harness runs after each capture run and
 * stops once the target equals the source. The target is compared with the
 * source by SQL on both sides, as pg-pg does.
 */
export const pgKafkaPgDriver: PairDriver = {
  pair: "pg-kafka-pg",
  prefix: "kafka",
  generate: (rng, on, focus) => generatePgWorkload({ rng, on, focus, qualifiedNames: false }),
  async open(label, workload, on) {
    const broker = kafkaBroker();
    const sourceDb = await createTestDatabase(`fz_${label}_s`);
    const targetDb = await createTestDatabase(`fz_${label}_t`);
    const topicPrefix = `fz${label}`;
    const writer = new pg.Client({ connectionString: sourceDb.url });
    await writer.connect();
    return {
      config: {
        source: { type: "postgres", url: sourceDb.url },
        target: { type: "kafka", brokers: [broker], topicPrefix, partitions: TOPIC_PARTITIONS },
        ...pgLayoutOf(workload).config,
      },
      // a short hand-over: one worker, nothing to hand over from
      downstream: { config: { source: { type: "kafka", brokers: [broker], topicPrefix, group: `${topicPrefix}_g`, handoverGraceMs: 200 }, target: { type: "postgres", url: targetDb.url, schema: "dw" } } },
      env: {},
      execute: (step) => executePgStep(writer, step.text),
      async compare(options) {
        const source = await openReadClient(sourceDb.url);
        const target = await openReadClient(targetDb.url);
        try {
          return await comparePgSchemas({ source, target, targetSchema: "dw", workload, jsonExact: on("json-exact"), twins: options?.twins ?? true, emptyMayBeMissing: true });
        } finally {
          await source.end();
          await target.end();
        }
      },
      async close() {
        try {
          await writer.end();
          await sourceDb.drop();
          await targetDb.drop();
        } finally {
          // the seed's topics and group go even when a drop fails: left behind, they pile up in the shared broker
          await deleteKafkaTopics([topicPrefix], { broker, groups: [`${topicPrefix}_g`] });
        }
      },
    };
  },
};
