import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { deleteKafkaTopics, TEST_KAFKA as KAFKA } from "../../../test-support/kafka.js";

const KAFKA_CLASSPATH = process.env.ZETL_KAFKA_CLASSPATH;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Kafka target killed with SIGKILL while it streams, then run again:
 * a read_committed reader (Java's kafka-console-consumer) sees every source
 * change exactly once, because each batch and its checkpoint commit in one
 * Kafka transaction and the restart resumes from the checkpoint in Kafka.
 */
describe("PostgreSQL -> Kafka, exactly once across a SIGKILL", () => {
  const id = randomBytes(4).toString("hex");
  const prefix = `zx${id}`;
  let source: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("kafka_eo");
    await source.query(`CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
      INSERT INTO items SELECT g, 0 FROM generate_series(1, 200) g;`);
  }, 60_000);

  afterAll(async () => {
    await source?.drop();
    await deleteKafkaTopics([prefix]);
  });

  it("writes each change once although the producer is killed mid-stream", async () => {
    const { file } = await writeConfig({
      name: `kx_${id}`,
      source: { type: "postgres", url: source.url },
      target: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, partitions: 3, replicationFactor: 1 },
      // small batches: many Kafka transactions, so the kill lands between some of them
      batch: { maxRows: 25, maxWaitMs: 100 },
      // info: the test waits for the "snapshot finished" line
      log: { level: "info" },
    });
    const fixed = await runCli(["check", file, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const first = startCli(["run", file]);
    let next = 1000;
    const insert = async (): Promise<void> => {
      await source.query(`INSERT INTO items SELECT g, 1 FROM generate_series(${next}, ${next + 9}) g`);
      next += 10;
    };
    // until the snapshot is in and streaming runs (its log says so, however slow the machine), then for
    // 2 s more: the kill lands among streaming transactions
    let snapshotDone = false;
    first.stderr?.on("data", (d: Buffer) => {
      if (d.toString().includes("snapshot finished")) snapshotDone = true;
    });
    for (let i = 0; i < 900 && !snapshotDone; i++) {
      await insert();
      await sleep(100);
    }
    expect(snapshotDone).toBe(true);
    for (let i = 0; i < 20; i++) {
      await insert();
      await sleep(100);
    }
    first.kill("SIGKILL");
    await first.result;
    for (let i = 0; i < 20; i++) await insert();
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const { stdout } = await promisify(execFile)(
      "java",
      ["-cp", KAFKA_CLASSPATH ?? "", "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", KAFKA, "--topic", `${prefix}.public.items`,
        "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "10000"],
      { maxBuffer: 256 * 1024 * 1024 },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
    // each row once, as a snapshot read (r) or an insert (c): rows inserted while
    // the snapshot starts may be in it (r) rather than in the stream (c)
    const seen = new Map<number, number>();
    const ops = new Set<string>();
    for (const line of stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const { payload } = JSON.parse(line) as { payload: { op: string; after: { id: number } } };
      ops.add(payload.op);
      seen.set(payload.after.id, (seen.get(payload.after.id) ?? 0) + 1);
    }
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    expect(twice).toEqual([]);
    expect([...ops].sort()).toEqual(["c", "r"]);
    const expected: number[] = [];
    for (let i = 1; i <= 200; i++) expected.push(i);
    for (let i = 1000; i < next; i++) expected.push(i);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(expected);
  }, 180_000);
});
