import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { deleteKafkaTopics, TEST_KAFKA as KAFKA } from "../../../test-support/kafka.js";

const KAFKA_CLASSPATH = process.env.ZETL_KAFKA_CLASSPATH;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Worker = ReturnType<typeof startCli>;

/**
 * PostgreSQL -> Kafka (Debezium JSON) -> three PostgreSQL-applying workers in
 * one consumer group, all through the CLI; two workers are killed with
 * SIGKILL while changes flow, and the target must equal the source by SQL.
 */
describe("PostgreSQL -> Kafka -> three workers -> PostgreSQL", () => {
  const id = randomBytes(4).toString("hex");
  const prefix = `zt${id}`;
  let source: TestDatabase;
  let target: TestDatabase;
  let producer: Worker | undefined;
  const workers: Worker[] = [];

  beforeAll(async () => {
    source = await createTestDatabase("kafka_src");
    target = await createTestDatabase("kafka_dst");
    await source.query(`
      CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, name text, updated_at timestamptz(6), amount numeric(20,4), day date, tags text[]);
      CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);
      INSERT INTO accounts SELECT g, g * 1000, 'a' || g, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 second', g / 7.0, date '2026-01-01' + g, ARRAY['t' || g]
        FROM generate_series(1, 300) g;
      INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;`);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
    if (producer !== undefined && producer.exitCode === null) producer.kill("SIGKILL");
    await source?.drop();
    await target?.drop();
    await deleteKafkaTopics([prefix], { groups: [`g${id}`] });
  });

  /** One source transaction of mixed changes: updates, inserts, deletes, a key change. */
  async function churn(round: number, withNote: boolean): Promise<void> {
    const base = 1000 + round * 10;
    await source.query(`
      BEGIN;
      UPDATE accounts SET balance = balance + ${round}, name = 'r${round}-' || id, updated_at = now() WHERE id % 7 = ${round % 7};
      INSERT INTO accounts (id, balance, name, amount) SELECT g, g, 'new' || g, g / 3.0 FROM generate_series(${base}, ${base + 4}) g;
      DELETE FROM accounts WHERE id = ${(round * 13) % 300};
      UPDATE accounts SET id = id + 100000 WHERE id = ${base};
      UPDATE notes SET body = body || '.' WHERE id % 10 = ${round % 10};
      ${withNote ? `UPDATE accounts SET note = 'n${round}' WHERE id % 5 = ${round % 5};` : ""}
      COMMIT;`);
  }

  async function table(db: TestDatabase, sql: string): Promise<string> {
    const rows = await db.query(sql);
    return JSON.stringify(rows.rows);
  }

  const ACCOUNTS = "SELECT id, balance, name, updated_at::text, amount::text, day::text, tags, note FROM accounts ORDER BY id";
  const NOTES = "SELECT id::text, body FROM notes ORDER BY id";

  async function startWorker(n: number): Promise<Worker> {
    const { file } = await writeConfig({
      name: `kw${n}_${id}`,
      // a short hand-over: the workers' batches flush within maxWaitMs (1 s)
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, group: `g${id}`, handoverGraceMs: 2000 },
      target: { type: "postgres", url: target.url },
      log: { level: process.env.ZETL_KAFKA_TEST_LOG === undefined ? "warn" : "info" },
    });
    const worker = startCli(["run", file]);
    workers.push(worker);
    return worker;
  }

  it("applies every change once in effect although two workers are killed mid-stream", async () => {
    const { file: producerConfig } = await writeConfig({
      name: `kp_${id}`,
      source: { type: "postgres", url: source.url },
      target: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, partitions: 6, replicationFactor: 1 },
    });
    const fixed = await runCli(["check", producerConfig, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    producer = startCli(["run", producerConfig]);
    await source.query("ALTER TABLE accounts REPLICA IDENTITY FULL");
    let round = 0;
    // the first worker creates the target's state tables; workers opening at once would race on CREATE TABLE
    const w1 = await startWorker(1);
    for (let waited = 0; waited < 600; waited++) {
      const found = await target.query("SELECT 1 FROM pg_tables WHERE tablename = 'notes'");
      if (found.rowCount === 1) break;
      if (waited % 4 === 0) await churn(round++, false);
      await sleep(100);
    }
    const w2 = await startWorker(2);
    await startWorker(3);
    for (let i = 0; i < 10; i++) {
      await churn(round++, false);
      await sleep(50);
    }
    w1.kill("SIGKILL");
    for (let i = 0; i < 10; i++) {
      await churn(round++, false);
      await sleep(50);
    }
    // a schema change mid-stream: its rows must reach the target with the new column
    await source.query("ALTER TABLE accounts ADD COLUMN note text");
    for (let i = 0; i < 10; i++) {
      await churn(round++, true);
      await sleep(50);
    }
    w2.kill("SIGKILL");
    for (let i = 0; i < 10; i++) {
      await churn(round++, true);
      await sleep(50);
    }

    const expectedAccounts = await table(source, ACCOUNTS);
    const expectedNotes = await table(source, NOTES);
    let accounts = "";
    let notes = "";
    for (let i = 0; i < 180; i++) {
      accounts = await table(target, ACCOUNTS).catch((error: unknown) => String(error));
      notes = await table(target, NOTES).catch((error: unknown) => String(error));
      if (accounts === expectedAccounts && notes === expectedNotes) break;
      await sleep(500);
    }
    const survivors = workers.filter((w) => w.exitCode === null && w.signalCode === null);
    if (accounts !== expectedAccounts && process.env.ZETL_KAFKA_TEST_LOG !== undefined) {
      const { writeFile } = await import("node:fs/promises");
      for (const [i, w] of workers.entries()) {
        w.stderr?.removeAllListeners();
        w.kill("SIGTERM");
        const r = await w.result;
        await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.w${i + 1}`, r.stderr);
      }
    }
    expect(survivors.length).toBe(1);
    expect(JSON.parse(accounts)).toEqual(JSON.parse(expectedAccounts));
    expect(JSON.parse(notes)).toEqual(JSON.parse(expectedNotes));
  }, 240_000);

  it("a stock kafka-console-consumer reads Debezium envelopes from a table topic", async () => {
    expect(KAFKA_CLASSPATH, "ZETL_KAFKA_CLASSPATH (scripts/test-services.sh env)").toBeDefined();
    const { stdout } = await promisify(execFile)(
      "java",
      [
        "-cp",
        KAFKA_CLASSPATH ?? "",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        KAFKA,
        "--topic",
        `${prefix}.public.accounts`,
        "--from-beginning",
        "--isolation-level",
        "read_committed",
        "--max-messages",
        "400",
        "--timeout-ms",
        "15000",
        "--property",
        "print.key=true",
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const lines = stdout.split("\n").filter((l) => l.length > 0);
    expect(lines.length).toBe(400);
    const ops = new Set<string>();
    for (const line of lines) {
      const [keyText, valueText] = line.split("\t");
      const key = JSON.parse(keyText ?? "") as { schema: { type: string }; payload: { id: number } };
      expect(key.schema.type).toBe("struct");
      expect(typeof key.payload.id).toBe("number");
      if (valueText === "null") continue; // the tombstone after a delete
      const value = JSON.parse(valueText ?? "") as {
        schema: { type: string; fields: { field: string }[] };
        payload: { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; ts_ms: number; source: Record<string, unknown> };
      };
      expect(value.schema.type).toBe("struct");
      expect(value.schema.fields.map((f) => f.field)).toEqual(["before", "after", "source", "op", "ts_ms"]);
      const { op, before, after, source: info, ts_ms } = value.payload;
      ops.add(op);
      expect(["c", "u", "d", "r"]).toContain(op);
      expect(typeof ts_ms).toBe("number");
      expect(info).toMatchObject({ connector: "zero-etl", db: "public", schema: "public", table: "accounts", snapshot: op === "r" ? "true" : "false" });
      expect(typeof info.ts_ms).toBe("number");
      if (op === "d") {
        expect(after).toBeNull();
        expect(before?.id).toBe(key.payload.id);
      } else {
        expect(after?.id).toBe(key.payload.id);
        expect(typeof after?.balance).toBe("number");
      }
    }
    expect([...ops].sort()).toEqual(["c", "d", "r", "u"]);
  }, 60_000);
});
