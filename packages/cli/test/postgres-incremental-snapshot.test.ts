import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

/** Polls `check` until it returns true (generous: the suite runs in parallel on 2 cores); no timing is asserted. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const BIG_COLUMNS = "id, v, n, note";

/** Both sides by plain SQL, ordered by key. */
async function sameRows(source: TestDatabase, target: TestDatabase, table: string, columns: string): Promise<{ source: unknown[]; target: unknown[] }> {
  const [s, t] = await Promise.all([source.query(`SELECT ${columns} FROM public.${table} ORDER BY id`), target.query(`SELECT ${columns} FROM dw.${table} ORDER BY id`)]);
  return { source: s.rows, target: t.rows };
}

async function tableProgress(target: TestDatabase, pipeline: string, table: string): Promise<{ state?: string; incremental?: { chunks: number; cursor?: string } }> {
  // the run creates the state tables: none yet is no progress yet
  const exists = await target.query(`SELECT to_regclass('dw._zeroetl_checkpoints') IS NOT NULL AS there`);
  if (exists.rows[0]?.there !== true) return {};
  const result = await target.query(`SELECT checkpoint -> 'tables' -> $2::text AS status FROM dw._zeroetl_checkpoints WHERE pipeline = $1`, [pipeline, table]);
  return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: { chunks: number; cursor?: string } };
}

describe("incremental snapshots (PostgreSQL -> PostgreSQL, through the CLI)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("incr_src");
    target = await createTestDatabase("incr_dst");
    await source.query(`
      CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL, note text);
      INSERT INTO big SELECT g, 'row ' || g, g % 97, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('x', g % 50) END FROM generate_series(1, 3000) g;
      CREATE TABLE other (id int PRIMARY KEY, v text NOT NULL);
      CREATE TABLE crash (id int PRIMARY KEY, v text NOT NULL);
      CREATE TABLE toasty (id int PRIMARY KEY, n int NOT NULL, body text NOT NULL);
      ALTER TABLE toasty ALTER COLUMN body SET STORAGE EXTERNAL;
      INSERT INTO toasty SELECT g, 0, repeat(md5(g::text), 80) FROM generate_series(1, 600) g;
      INSERT INTO crash SELECT g, 'c' || g FROM generate_series(1, 3000) g;
      ANALYZE big; ANALYZE crash; ANALYZE toasty;`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("resyncs one table of a running pipeline under writes while the other keeps streaming; every table ends equal to the source", async () => {
    const { file } = await writeConfig({
      name: "incr_live",
      source: { type: "postgres", url: source.url, publication: "incr_live" }, filter: { include: ["public.big", "public.other"] },
      target: { type: "postgres", url: target.url, schema: "dw" },
      snapshot: { mode: "incremental", chunkRows: 100 },
      log: { level: "info" },
    });
    const run = startCli(["run", file]);
    try {
      // the first snapshot is incremental too
      await until("the first snapshot", async () => {
        const progress = await tableProgress(target, "incr_live", "public.big");
        return progress.state === "synced" && progress.incremental === undefined;
      });
      expect((await sameRows(source, target, "big", BIG_COLUMNS)).target).toHaveLength(3000);

      // continuous writes to both tables until told to stop
      let writing = true;
      let nextOther = 1;
      let nextBig = 3001;
      const writer = (async () => {
        while (writing) {
          const id = 1 + Math.floor(Math.random() * 3000);
          await source.query(
            `BEGIN;
             INSERT INTO other VALUES (${nextOther}, 'o${nextOther}');
             UPDATE big SET v = v || '+', n = n + 1 WHERE id = ${id};
             UPDATE big SET note = 'moved' WHERE id = ${3001 - id};
             DELETE FROM big WHERE id = ${(id * 7) % 3000 + 1};
             INSERT INTO big VALUES (${nextBig}, 'new ${nextBig}', 0, NULL);
             COMMIT;`,
          );
          nextOther++;
          nextBig++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      const signalled = await runCli(["resync", file, "public.big"]);
      expect(signalled.code, signalled.stderr).toBe(0);
      expect(signalled.stdout).toMatch(/asked the running pipeline incr_live to resync: public\.big/);

      // while public.big is being read again in chunks, public.other's rows keep landing in the target
      const seenDuringResync = new Set<number>();
      let chunksSeen = 0;
      await until("the resync to begin and end", async () => {
        const progress = await tableProgress(target, "incr_live", "public.big");
        if (progress.incremental !== undefined && progress.state === "resyncing") {
          chunksSeen = Math.max(chunksSeen, progress.incremental.chunks);
          const count = Number((await target.query("SELECT count(*)::int AS n FROM dw.other")).rows[0]?.n);
          seenDuringResync.add(count);
        }
        return chunksSeen > 0 && progress.state === "synced" && progress.incremental === undefined;
      });
      // the other table's row count grew while the resync went on: it was not held back
      expect(seenDuringResync.size).toBeGreaterThan(1);

      writing = false;
      await writer;
      await until("the target to catch up", async () => {
        const big = await sameRows(source, target, "big", BIG_COLUMNS);
        const other = await sameRows(source, target, "other", "id, v");
        return JSON.stringify(big.source) === JSON.stringify(big.target) && JSON.stringify(other.source) === JSON.stringify(other.target);
      });
      const big = await sameRows(source, target, "big", BIG_COLUMNS);
      expect(big.target).toEqual(big.source);
      const other = await sameRows(source, target, "other", "id, v");
      expect(other.target).toEqual(other.source);
      expect(other.source.length).toBeGreaterThan(1);

    } finally {
      run.kill("SIGTERM");
      await run.result;
    }
    const ended = await run.result;
    // the resync came through the stream, and the chunk log names the table
    expect(ended.stderr).toMatch(/resync asked of the running pipeline/);
    expect(ended.stderr).toMatch(/"table":"public\.big"[^\n]*"msg":"incremental snapshot chunk applied"/);
  });

  it("resumes an incremental snapshot killed with SIGKILL from its last durable chunk, with the same result", async () => {
    const { file } = await writeConfig({
      name: "incr_crash",
      source: { type: "postgres", url: source.url, publication: "incr_crash" }, filter: { include: ["public.crash"] },
      target: { type: "postgres", url: target.url, schema: "dw" },
      snapshot: { mode: "incremental", chunkRows: 200 },
      // a flush per chunk (200 rows > maxRows), so that the kill below finds the snapshot unfinished however fast it runs
      batch: { maxRows: 100 },
      log: { level: "info" },
    });
    // killed at the first checkpoint saved after the third chunk was applied (that flush may have begun before it)
    const killed = await runCli(["run", file, "--until-caught-up"], { ZEROETL_TEST_KILL_AFTER: "snapshot-progress:table=public.crash,rowsRead=600>checkpoint" });
    expect(killed.signal).toBe("SIGKILL");
    const durable = await tableProgress(target, "incr_crash", "public.crash");
    expect(durable.state).toBe("snapshotting");
    const chunksDone = durable.incremental?.chunks ?? 0;
    expect(chunksDone).toBeGreaterThanOrEqual(2);
    expect(chunksDone).toBeLessThan(15);
    // the progress is visible while the pipeline is down, from the checkpoint
    const status = await runCli(["status", file]);
    expect(status.stdout).toMatch(new RegExp(`public\\.crash\\s+snapshotting \\(chunk ${chunksDone} of ~15\\)`));

    // changes meanwhile, before and after the durable cursor
    await source.query(`
      UPDATE crash SET v = 'changed' WHERE id IN (5, 300, 2500);
      DELETE FROM crash WHERE id IN (10, 2000);
      INSERT INTO crash VALUES (3001, 'late'), (0, 'first');`);

    const resumed = await runCli(["run", file, "--until-caught-up"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    // it read on from the durable chunk: no chunk before it was read again
    const resumedLine = resumed.stderr.split("\n").find((line) => line.includes("incremental snapshot resumed"));
    expect(resumedLine).toBeDefined();
    expect(JSON.parse(resumedLine ?? "{}")).toMatchObject({ table: "public.crash", chunksDone });
    expect(resumed.stderr).not.toMatch(/"msg":"incremental snapshot started"/);
    const chunkNumbers = resumed.stderr
      .split("\n")
      .filter((line) => line.includes("incremental snapshot chunk applied"))
      .map((line) => (JSON.parse(line) as { chunk: number }).chunk);
    expect(chunkNumbers[0]).toBe(chunksDone + 1);

    const rows = await sameRows(source, target, "crash", "id, v");
    expect(rows.target).toEqual(rows.source);
    const progress = await tableProgress(target, "incr_crash", "public.crash");
    expect(progress.state).toBe("synced");
  });

  it("names snapshot.mode in the error when the config asks for what cannot be done", async () => {
    const { file: unknownMode } = await writeConfig({ name: "incr_bad", source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url }, snapshot: { mode: "fast" } });
    const bad = await runCli(["run", unknownMode]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/snapshot\.mode: expected one of "blocking"\|"incremental"/);
    // a source without incremental snapshots (Oracle today); refused before it connects anywhere
    const { file: oracle } = await writeConfig({ name: "incr_ora", source: { type: "oracle", url: "oracle://app:secret@127.0.0.1:1/ORCLPDB1" }, target: { type: "postgres", url: target.url }, snapshot: { mode: "incremental" } });
    const refused = await runCli(["run", oracle]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/snapshot\.mode: expected "blocking" \(the oracle source cannot take incremental snapshots\), got "incremental"/);
  });

  it("completes an update that left a NOT NULL TOAST value unchanged, of a row whose chunk was not read yet (no dead letter, no lost row)", async () => {
    const { file, dir } = await writeConfig({
      name: "incr_toast",
      source: { type: "postgres", url: source.url, publication: "incr_toast" },
      filter: { include: ["public.toasty"] },
      target: { type: "postgres", url: target.url, schema: "dw" },
      snapshot: { mode: "incremental", chunkRows: 100 },
      // a flush per chunk, so that the kill finds the snapshot unfinished however fast it runs
      batch: { maxRows: 50 },
    });
    // stopped after two chunks are durable, so that the updates below reach the stream while their rows are not in the target
    const killed = await runCli(["run", file, "--until-caught-up"], { ZEROETL_TEST_KILL_AFTER: "snapshot-progress:table=public.toasty,rowsRead=200>checkpoint" });
    expect(killed.signal).toBe("SIGKILL");
    expect((await tableProgress(target, "incr_toast", "public.toasty")).state).toBe("snapshotting");
    await source.query(`UPDATE toasty SET n = n + 1 WHERE id > 400`);
    const resumed = await runCli(["run", file, "--until-caught-up"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const deadLetters = await readFile(join(dir, "state", "incr_toast.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
    const [s, t] = await Promise.all([
      source.query(`SELECT id, n, md5(body) AS body FROM public.toasty ORDER BY id`),
      target.query(`SELECT id, n, md5(body) AS body FROM dw.toasty ORDER BY id`),
    ]);
    expect(t.rows).toEqual(s.rows);
  });
});
