import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { startCli, writeConfig } from "../../../test-support/cli.js";
import { deleteKafkaTopics, TEST_KAFKA as KAFKA } from "../../../test-support/kafka.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Run = ReturnType<typeof startCli>;

/** Collects a process's stderr (JSON log lines) as it comes. */
function logOf(run: Run): { text: () => string } {
  let text = "";
  run.stderr?.on("data", (d: Buffer) => (text += d.toString()));
  return { text: () => text };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Lines of a JSON log with the given message. */
function lines(log: string, msg: string): Record<string, unknown>[] {
  return log
    .split("\n")
    .filter((l) => l.includes(msg))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

/**
 * PostgreSQL -> Kafka with the initial snapshot handed out as work items
 * (CTID ranges of the exported snapshot) to two PostgreSQL-applying
 * workers, all through the CLI. The first worker is killed with SIGKILL
 * after it applied its first chunk, the second takes its work over; changes
 * made during and after the snapshot stream afterwards. The target must
 * equal the source by SQL on both sides.
 */
describe("PostgreSQL -> Kafka distributed snapshot -> two workers -> PostgreSQL", () => {
  const id = randomBytes(4).toString("hex");
  const prefix = `zd${id}`;
  let source: TestDatabase;
  let target: TestDatabase;
  const runs: Run[] = [];

  beforeAll(async () => {
    source = await createTestDatabase("kds_src");
    target = await createTestDatabase("kds_dst");
    await source.query(`
      CREATE TABLE big (id int PRIMARY KEY, n bigint NOT NULL, label text, amount numeric(12,2), at timestamptz(6));
      INSERT INTO big SELECT g, g * 7, 'row ' || g, g / 3.0, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 second'
        FROM generate_series(1, 30000) g;
      ANALYZE big;`);
  }, 60_000);

  afterAll(async () => {
    for (const r of runs) if (r.exitCode === null && r.signalCode === null) r.kill("SIGKILL");
    await source?.drop();
    await target?.drop();
    await deleteKafkaTopics([prefix], { groups: [`gd${id}`] });
  });

  async function start(config: Record<string, unknown>): Promise<{ run: Run; log: { text: () => string } }> {
    const { file } = await writeConfig({ ...config, log: { level: "info" } });
    const run = startCli(["run", file]);
    runs.push(run);
    return { run, log: logOf(run) };
  }

  const worker = (n: number): Promise<{ run: Run; log: { text: () => string } }> =>
    start({
      name: `kdw${n}_${id}`,
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, group: `gd${id}`, handoverGraceMs: 2000, maxBatchRecords: 500, distributedSnapshot: { sourceUrl: source.url } },
      target: { type: "postgres", url: target.url },
    });

  const BIG = "SELECT id, n::text, label, amount::text, at::text FROM big ORDER BY id";

  it("spreads the snapshot over the workers, survives a SIGKILL of one, then streams; target equals source", async () => {
    const t0 = Date.now();
    const mark = (what: string): void => {
      if (process.env.ZETL_KAFKA_TEST_LOG !== undefined) console.log("MARK", what, Date.now() - t0);
    };
    const capture = await start({
      name: `kdc_${id}`,
      source: { type: "postgres", url: source.url },
      // small chunks, many items: the snapshot must still be under way when worker 1 is killed
      // (with 8-block chunks the two workers had done all 33 items by then once)
      target: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, partitions: 4, replicationFactor: 1, distributedSnapshot: { chunkBlocks: 2, workPartitions: 6 } },
    });
    // the first worker opens the target first (workers opening a fresh target at once race on its state tables)
    const first = await worker(1);
    await until("worker 1 to open its target", () => first.log.text().includes('"msg":"snapshot finished"'));
    mark("worker 1 up");
    const others = [await worker(2)];
    await until("the capture run to publish the chunks", () => lines(capture.log.text(), "kafka: snapshot chunks published").length > 0);
    mark("published");
    const published = lines(capture.log.text(), "kafka: snapshot chunks published")[0];
    expect(Number(published?.items)).toBeGreaterThan(10);
    // changes after the exported snapshot: the stream brings them once the chunks are done
    await source.query("UPDATE big SET label = 'during ' || id WHERE id % 100 = 1; DELETE FROM big WHERE id % 1000 = 2; INSERT INTO big VALUES (70001, 1, 'new during', 1.5, now())");

    // worker 1 is killed once it applied a chunk, mid-snapshot: worker 2 takes its work items over
    await until("worker 1 to apply a chunk", () => lines(first.log.text(), "kafka: snapshot chunk applied").length > 0);
    first.run.kill("SIGKILL");
    mark("killed");
    expect(lines(capture.log.text(), "kafka: snapshot chunks done")).toEqual([]);

    await until("the capture run to finish its snapshot", () => capture.log.text().includes('"msg":"snapshot finished"'), 180_000);
    mark("snapshot finished");
    await source.query("UPDATE big SET n = n + 1 WHERE id % 20 = 0; DELETE FROM big WHERE id BETWEEN 100 AND 150; INSERT INTO big SELECT g, g, 'after', 2.25, now() FROM generate_series(80001, 80100) g");
    await source.query("UPDATE big SET id = id + 200000 WHERE id = 5000");

    const expected = JSON.stringify((await source.query(BIG)).rows);
    let actual = "";
    for (let i = 0; i < 240; i++) {
      actual = JSON.stringify((await target.query(BIG).catch((error: unknown) => ({ rows: String(error) }))).rows);
      if (actual === expected) break;
      await sleep(500);
    }
    mark("converged");
    expect(JSON.parse(actual)).toEqual(JSON.parse(expected));
    const counts = await target.query("SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM big");
    expect(counts.rows[0]?.n).toBe(counts.rows[0]?.d);

    // more than one worker applied chunks, every chunk of the capture's batch was completed
    const appliedBy = [first, ...others].map((w) => lines(w.log.text(), "kafka: snapshot chunk applied").length);
    expect(appliedBy.filter((n) => n > 0).length).toBeGreaterThan(1);
    const done = lines(capture.log.text(), "kafka: snapshot chunks done")[0];
    expect(done?.items).toBe(published?.items);
    expect(capture.run.exitCode).toBeNull();
    if (process.env.ZETL_KAFKA_TEST_LOG !== undefined) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.capture`, capture.log.text());
      for (const [i, w] of [first, ...others].entries()) await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.w${i + 1}`, w.log.text());
    }
  }, 300_000);
});

/**
 * The capture run is killed with SIGKILL while its distributed snapshot is
 * being applied: its exported snapshot dies with it. The next run takes a
 * new snapshot and hands every range out again; items of the dead snapshot
 * not yet claimed are skipped as stale by the workers. No row is lost.
 */
describe("PostgreSQL -> Kafka distributed snapshot: the capture run killed mid-snapshot", () => {
  const id = randomBytes(4).toString("hex");
  const prefix = `zc${id}`;
  let source: TestDatabase;
  let target: TestDatabase;
  const runs: Run[] = [];

  beforeAll(async () => {
    source = await createTestDatabase("kdc_src");
    target = await createTestDatabase("kdc_dst");
    await source.query(`
      CREATE TABLE big (id int PRIMARY KEY, n bigint NOT NULL, label text);
      INSERT INTO big SELECT g, g * 3, 'row ' || g FROM generate_series(1, 30000) g;
      ANALYZE big;`);
  }, 60_000);

  afterAll(async () => {
    for (const r of runs) if (r.exitCode === null && r.signalCode === null) r.kill("SIGKILL");
    await source?.drop();
    await target?.drop();
    await deleteKafkaTopics([prefix], { groups: [`gc${id}`] });
  });

  async function start(config: Record<string, unknown>): Promise<{ run: Run; log: { text: () => string } }> {
    const { file } = await writeConfig({ ...config, log: { level: "info" } });
    const run = startCli(["run", file]);
    runs.push(run);
    return { run, log: logOf(run) };
  }

  it("restarts the snapshot with a new exported snapshot; stale items are skipped; target equals source", async () => {
    const workerConfig = (n: number): Record<string, unknown> => ({
      name: `kcw${n}_${id}`,
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, group: `gc${id}`, handoverGraceMs: 2000, maxBatchRecords: 500, distributedSnapshot: { sourceUrl: source.url } },
      target: { type: "postgres", url: target.url },
    });
    const captureConfig = {
      name: `kcc_${id}`,
      source: { type: "postgres", url: source.url },
      // small chunks, many items: the worker must not have read them all by the time the kill lands
      // (with 8-block chunks a fast worker did, and no item was left to skip)
      target: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, partitions: 2, replicationFactor: 1, distributedSnapshot: { chunkBlocks: 2, workPartitions: 2 } },
    };
    const crashed = await start(captureConfig);
    const workers = [await start(workerConfig(1))];
    await until("a chunk of the first attempt to be applied", () => workers.some((w) => lines(w.log.text(), "kafka: snapshot chunk applied").length > 0));
    crashed.run.kill("SIGKILL");
    const firstBatch = lines(crashed.log.text(), "kafka: snapshot chunks published")[0]?.batch;
    // changes between the attempts (updates and inserts: a delete between two attempts is not carried, see the docs)
    await source.query("UPDATE big SET label = 'between ' || id WHERE id % 50 = 0; INSERT INTO big SELECT g, g, 'between' FROM generate_series(40001, 40050) g");

    const again = await start(captureConfig);
    await until("the second attempt to finish its snapshot", () => again.log.text().includes('"msg":"snapshot finished"'), 180_000);
    const secondBatch = lines(again.log.text(), "kafka: snapshot chunks published")[0]?.batch;
    expect(secondBatch).toBeDefined();
    expect(secondBatch).not.toBe(firstBatch);
    await source.query("UPDATE big SET n = -n WHERE id % 9 = 0; DELETE FROM big WHERE id BETWEEN 10 AND 60; INSERT INTO big VALUES (50001, 5, 'after')");

    const BIG = "SELECT id, n::text, label FROM big ORDER BY id";
    const expected = JSON.stringify((await source.query(BIG)).rows);
    let actual = "";
    for (let i = 0; i < 240; i++) {
      actual = JSON.stringify((await target.query(BIG).catch((error: unknown) => ({ rows: String(error) }))).rows);
      if (actual === expected) break;
      await sleep(500);
    }
    if (process.env.ZETL_KAFKA_TEST_LOG !== undefined) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.c1`, crashed.log.text());
      await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.c2`, again.log.text());
      for (const [i, w] of workers.entries()) await writeFile(`${process.env.ZETL_KAFKA_TEST_LOG}.cw${i + 1}`, w.log.text());
    }
    expect(JSON.parse(actual)).toEqual(JSON.parse(expected));
    // items of the dead snapshot that no worker had read were skipped, not read from another snapshot
    const skipped = workers.flatMap((w) => lines(w.log.text(), "kafka: snapshot chunk skipped: its snapshot is over"));
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((l) => l.batch === firstBatch)).toBe(true);
    expect(again.run.exitCode).toBeNull();
  }, 300_000);
});

/**
 * A worker whose `distributedSnapshot.sourceUrl` names another database
 * than the capture run's source cannot import the snapshot: the capture run
 * says which field to check and reads the table by rows itself, so the
 * target still ends equal to the source.
 */
describe("PostgreSQL -> Kafka distributed snapshot: a worker reading the wrong database", () => {
  const id = randomBytes(4).toString("hex");
  const prefix = `zw${id}`;
  let source: TestDatabase;
  let elsewhere: TestDatabase;
  let target: TestDatabase;
  const runs: Run[] = [];

  beforeAll(async () => {
    source = await createTestDatabase("kdw_src");
    elsewhere = await createTestDatabase("kdw_other");
    target = await createTestDatabase("kdw_dst");
    await source.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 3000) g;");
  }, 60_000);

  afterAll(async () => {
    for (const r of runs) if (r.exitCode === null && r.signalCode === null) r.kill("SIGKILL");
    await source?.drop();
    await elsewhere?.drop();
    await target?.drop();
    await deleteKafkaTopics([prefix], { groups: [`gw${id}`] });
  });

  it("names source.distributedSnapshot.sourceUrl and loads the table by rows instead", async () => {
    const start = async (config: Record<string, unknown>): Promise<{ run: Run; log: { text: () => string } }> => {
      const { file } = await writeConfig({ ...config, log: { level: "info" } });
      const run = startCli(["run", file]);
      runs.push(run);
      return { run, log: logOf(run) };
    };
    const capture = await start({
      name: `kwc_${id}`,
      source: { type: "postgres", url: source.url },
      target: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, partitions: 2, replicationFactor: 1, distributedSnapshot: { chunkBlocks: 4, workPartitions: 2 } },
    });
    await start({
      name: `kww_${id}`,
      source: { type: "kafka", brokers: [KAFKA], topicPrefix: prefix, group: `gw${id}`, handoverGraceMs: 1000, distributedSnapshot: { sourceUrl: elsewhere.url } },
      target: { type: "postgres", url: target.url },
    });
    await until("the capture run to finish its snapshot", () => capture.log.text().includes('"msg":"snapshot finished"'), 180_000);
    const refused = capture.log.text().split("\n").find((l) => l.includes("refused a table's COPY load"));
    expect(refused).toContain("source.distributedSnapshot.sourceUrl");
    await source.query("UPDATE t SET v = 'after' WHERE id % 10 = 0");
    const T = "SELECT id, v FROM t ORDER BY id";
    const expected = JSON.stringify((await source.query(T)).rows);
    let actual = "";
    for (let i = 0; i < 240; i++) {
      actual = JSON.stringify((await target.query(T).catch((error: unknown) => ({ rows: String(error) }))).rows);
      if (actual === expected) break;
      await sleep(500);
    }
    expect(JSON.parse(actual)).toEqual(JSON.parse(expected));
  }, 240_000);
});
