/**
 * Scaling of Kafka-sourced apply: 100k Debezium change events in a 4-partition
 * topic (written by the Kafka sink) applied to PostgreSQL by one `zeroetl run`
 * worker, then by two workers of one consumer group into another database,
 * each timed from the first row landing to the last (process start-up left
 * out). Needs the broker of `scripts/test-services.sh`. Run:
 *   node --conditions=zero-etl-source --import tsx bench/kafka-apply.ts
 * Ends with `RATIO kafka-apply <two workers / one>` (throughput, higher is better).
 */
import { randomBytes } from "node:crypto";
import type { ChangeEvent, TableRef, TableSchema } from "@zero-etl/core";
import { createKafkaSink } from "@zero-etl/sinks/kafka";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase, type TestDatabase } from "../test-support/postgres.js";
import { startCli, writeConfig } from "../test-support/cli.js";
import { deleteKafkaTopics } from "../test-support/kafka.js";

const ROWS = 100_000;
const BATCH = 10_000;
const brokers = [process.env.ZEROETL_TEST_KAFKA ?? "127.0.0.1:59092"];
const prefix = `bench${randomBytes(3).toString("hex")}`;
const table: TableRef = { namespace: "public", name: "orders" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "customer", type: { kind: "string" }, nullable: false },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: false },
    { name: "note", type: { kind: "string" }, nullable: true },
  ],
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function event(i: number): ChangeEvent {
  return {
    op: "insert",
    table,
    position: `0/${i.toString(16)}`,
    after: { id: BigInt(i), customer: `customer-${i % 997}`, qty: (i * 7) % 100, amount: `${i % 100_000}.${String(i % 100).padStart(2, "0")}`, note: i % 3 === 0 ? null : `note ${i}` },
  };
}

// the topics go when the bench ends, however it ends: left behind, they pile up in the shared broker
try {
  const producer = createKafkaSink({ brokers, topicPrefix: prefix, partitions: 4, replicationFactor: 1 });
  await producer.open({ pipeline: `bench-${prefix}` });
  await producer.prepare(schema);
  for (let i = 0; i < ROWS; i += BATCH) {
    await producer.write({ events: Array.from({ length: BATCH }, (_, j) => event(i + j)) });
    await producer.flush({ pipeline: `bench-${prefix}`, phase: "streaming", position: `0/${i}`, tables: {}, savedAt: new Date().toISOString() });
  }
  await producer.close();

  /** Applies the topic with `workers` processes of one group into a fresh database; rows/s from the first row to the last. */
  async function apply(workers: number): Promise<number> {
    const target: TestDatabase = await createTestDatabase("bench_kafka_apply");
    // the target's state and data tables exist before the workers start, so they do not race to create them
    const setup = createPostgresSink({ url: target.url });
    await setup.open({ pipeline: "setup" });
    await setup.prepare(schema);
    await setup.close();
    const group = `g${randomBytes(3).toString("hex")}`;
    const children = [];
    for (let w = 0; w < workers; w++) {
      const { file } = await writeConfig({
        name: `${group}_w${w}`,
        source: { type: "kafka", brokers, topicPrefix: prefix, group, handoverGraceMs: 0 },
        target: { type: "postgres", url: target.url },
      });
      children.push(startCli(["run", file]));
    }
    const count = async (): Promise<number> => Number((await target.query<{ n: string }>("SELECT count(*)::text AS n FROM orders")).rows[0]?.n ?? 0);
    let first = 0;
    for (;;) {
      const n = await count();
      if (n > 0 && first === 0) first = performance.now();
      if (n >= ROWS) break;
      await sleep(20);
    }
    const seconds = (performance.now() - first) / 1000;
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => c.result));
    await target.drop();
    return ROWS / seconds;
  }

  const one = await apply(1);
  const two = await apply(2);
  console.log(`one worker: ${Math.round(one)} rows/s; two workers (one group, 4 partitions): ${Math.round(two)} rows/s`);
  console.log(`RATIO kafka-apply ${(two / one).toFixed(2)}`);
} finally {
  await deleteKafkaTopics([prefix]);
}
