import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

const KAFKA = process.env.ZEROETL_TEST_KAFKA ?? "127.0.0.1:59092";

// Before: a Kafka source reported "caught up" after 200 ms without records,
// which comes before its consumer group is joined and its partitions
// fetched, so `zeroetl run <worker> --until-caught-up` could exit having read
// nothing (the fuzzer's pg-kafka-pg harness had to poll the target instead).
describe("Kafka worker: run --until-caught-up", () => {
  const id = randomBytes(4).toString("hex");
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("kcu_src");
    target = await createTestDatabase("kcu_dst");
    await source.query(`CREATE TABLE a (id int PRIMARY KEY, v text);
      INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 300) g;
      CREATE TABLE b (id int PRIMARY KEY, n numeric);
      INSERT INTO b SELECT g, g * 1.5 FROM generate_series(1, 50) g;`);
  }, 60_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const rows = async (db: TestDatabase, schema: string) =>
    JSON.stringify([
      (await db.query(`SELECT id, v FROM ${schema}.a ORDER BY id`)).rows,
      (await db.query(`SELECT id, n::text FROM ${schema}.b ORDER BY id`)).rows,
    ]);

  it("exits once every assigned partition was read to its end, with the target equal to the source", async () => {
    const { file: capture } = await writeConfig({ name: `kcu_c_${id}`, source: { type: "postgres", url: source.url }, target: { type: "kafka", brokers: [KAFKA], topicPrefix: `kcu${id}`, partitions: 3 } });
    const { file: worker } = await writeConfig({
      name: `kcu_w_${id}`,
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: `kcu${id}`, group: `kcu${id}`, handoverGraceMs: 200 },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    const first = await runCli(["run", capture, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    const applied = await runCli(["run", worker, "--until-caught-up"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await rows(target, "dw").catch((error: unknown) => String(error))).toBe(await rows(source, "public"));

    // a second round: changes streamed by the capture, read by a new worker process of the same group
    await source.query(`UPDATE a SET v = 'changed' WHERE id % 7 = 0; DELETE FROM b WHERE id > 40; INSERT INTO a VALUES (301, 'new');`);
    const second = await runCli(["run", capture, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const again = await runCli(["run", worker, "--until-caught-up"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await rows(target, "dw")).toBe(await rows(source, "public"));
  }, 180_000);
});
