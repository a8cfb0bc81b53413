import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { deleteKafkaTopics, TEST_KAFKA as KAFKA } from "../../../test-support/kafka.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Found by the fuzzer (pnpm fuzz --pair pg-kafka-pg --seed 2): a float -0
// reached the worker's target as 0, because the Kafka sink wrote it with
// String(-0) = "0". Debezium's JsonConverter writes -0.0.
describe("PostgreSQL -> Kafka -> worker -> PostgreSQL: float -0", () => {
  const id = randomBytes(4).toString("hex");
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("kfz_src");
    target = await createTestDatabase("kfz_dst");
    await source.query(`CREATE TABLE f (id int PRIMARY KEY, d float8, r float4);
      INSERT INTO f VALUES (1, '-0', '-0'), (2, 0, 0), (3, -1.5, '-0.25'), (4, 'NaN', '-Infinity');`);
  }, 60_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await deleteKafkaTopics([`kfz${id}`], { groups: [`kfz${id}`] });
  });

  const rows = async (db: TestDatabase, table: string) => JSON.stringify((await db.query(`SELECT id, d::text AS d, r::text AS r FROM ${table} ORDER BY id`)).rows);

  it("keeps the sign of a zero by the snapshot and by the stream", async () => {
    const { file: capture } = await writeConfig({ name: `kfz_c_${id}`, source: { type: "postgres", url: source.url }, target: { type: "kafka", brokers: [KAFKA], topicPrefix: `kfz${id}` } });
    const { file: worker } = await writeConfig({
      name: `kfz_w_${id}`,
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: `kfz${id}`, group: `kfz${id}`, handoverGraceMs: 200 },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    const first = await runCli(["run", capture, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO f VALUES (5, '-0', '-0'); UPDATE f SET d = '-0' WHERE id = 3;`);
    const second = await runCli(["run", capture, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const expected = await rows(source, "f");
    expect(expected).toContain('"d":"-0"');
    const applying = startCli(["run", worker]);
    // the worker runs until the target holds every row (or 90 s), then stops
    let landed = "";
    for (let i = 0; i < 90 && applying.exitCode === null; i++) {
      await sleep(1000);
      landed = await rows(target, "dw.f").catch(() => "");
      if (landed === expected) break;
    }
    applying.kill("SIGTERM");
    await applying.result;
    expect(landed).toBe(expected);
  }, 150_000);
});
