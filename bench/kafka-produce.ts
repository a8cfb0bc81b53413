/**
 * Throughput of the Kafka sink: 100k change events encoded as Debezium JSON
 * envelopes and written in Kafka transactions of 10k records (with the
 * checkpoint), against Kafka's own `ProducerPerformance`
 * (`kafka-producer-perf-test`) sending the same number of records of the
 * same average size, idempotent and transactional, in the same run. Needs
 * the broker of `scripts/test-services.sh` (ZEROETL_TEST_KAFKA,
 * ZETL_KAFKA_CLASSPATH). Run:
 *   node --conditions=zero-etl-source --import tsx bench/kafka-produce.ts
 * Ends with `RATIO kafka-produce <ours/reference>` (records/s, higher is better).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { ChangeEvent, TableRef, TableSchema } from "@zero-etl/core";
import { createKafkaSink } from "@zero-etl/sinks/kafka";
import { deleteKafkaTopics } from "../test-support/kafka.js";

const ROWS = 100_000;
const BATCH = 10_000;
const brokers = [process.env.ZEROETL_TEST_KAFKA ?? "127.0.0.1:59092"];
const classpath = process.env.ZETL_KAFKA_CLASSPATH;
if (classpath === undefined) throw new Error("ZETL_KAFKA_CLASSPATH is not set: eval \"$(bash scripts/test-services.sh env)\"");
const prefix = `bench${randomBytes(3).toString("hex")}`;
const table: TableRef = { namespace: "bench", name: "orders" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "customer", type: { kind: "string", maxLength: 64 }, nullable: false },
    { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: false },
    { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: false },
    { name: "created_at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: false },
    { name: "note", type: { kind: "string" }, nullable: true },
  ],
};

function event(i: number): ChangeEvent {
  return {
    op: "insert",
    table,
    position: `0/${i.toString(16)}`,
    commitTime: 1_700_000_000_000 + i,
    after: {
      id: BigInt(i),
      customer: `customer-${i % 997}`,
      qty: (i * 7) % 100,
      amount: `${i % 100_000}.${String(i % 100).padStart(2, "0")}`,
      created_at: `${new Date(1_700_000_000_000 + i * 1000).toISOString().slice(0, 23)}456Z`,
      note: i % 3 === 0 ? null : `note ${i}`,
    },
  };
}

// the topics go when the bench ends, however it ends: left behind, they pile up in the shared broker
try {
  const sink = createKafkaSink({ brokers, topicPrefix: prefix, partitions: 6, replicationFactor: 1 });
  await sink.open({ pipeline: `bench-${prefix}` });
  await sink.prepare(schema);
  const events = Array.from({ length: ROWS }, (_, i) => event(i));
  const checkpoint = (i: number) => ({ pipeline: `bench-${prefix}`, phase: "streaming" as const, position: `0/${i}`, tables: {}, savedAt: new Date().toISOString() });
  // one warm-up batch (connections, topic metadata, producer id), not counted
  await sink.write({ events: events.slice(0, 1000) });
  await sink.flush(checkpoint(0));
  const started = performance.now();
  for (let i = 0; i < ROWS; i += BATCH) {
    await sink.write({ events: events.slice(i, i + BATCH) });
    await sink.flush(checkpoint(i + BATCH));
  }
  const oursSeconds = (performance.now() - started) / 1000;
  await sink.close();
  const ours = ROWS / oursSeconds;

  // the same record size as ours: key + value of one envelope
  const { DebeziumTableEncoder } = await import("@zero-etl/sinks/kafka");
  const encoder = new DebeziumTableEncoder(schema, prefix, undefined);
  let bytes = 0;
  for (let i = 0; i < 1000; i++) {
    const e = event(i);
    if (e.op !== "insert") continue;
    bytes += encoder.value("c", undefined, e.after, { tsMs: 0, snapshot: false, txId: undefined, position: e.position }, 0).length + encoder.key(e.after).length;
  }
  const recordSize = Math.round(bytes / 1000);
  const perf = await promisify(execFile)(
    "java",
    [
      "-Xmx256m",
      "-cp",
      classpath,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      `${prefix}.bench.orders`,
      "--num-records",
      String(ROWS),
      "--record-size",
      String(recordSize),
      "--throughput",
      "-1",
      "--transactional-id",
      `perf-${prefix}`,
      "--transaction-duration-ms",
      "100",
      "--producer-props",
      `bootstrap.servers=${brokers[0]}`,
      "acks=all",
      "enable.idempotence=true",
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const summary = perf.stdout.trim().split("\n").pop() ?? "";
  const match = /([\d.]+) records\/sec/.exec(summary);
  if (match === null) throw new Error(`no summary from ProducerPerformance: ${summary}`);
  const reference = Number(match[1]);
  console.log(`ours: ${ROWS} Debezium envelopes (~${recordSize} B each) in transactions of ${BATCH}: ${Math.round(ours)} records/s`);
  console.log(`ProducerPerformance: ${ROWS} records of ${recordSize} B, idempotent + transactional: ${Math.round(reference)} records/s (${summary})`);
  console.log(`RATIO kafka-produce ${(ours / reference).toFixed(2)}`);
} finally {
  await deleteKafkaTopics([prefix]);
}
