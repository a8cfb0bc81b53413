import { rename, writeFile } from "node:fs/promises";
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

async function rowsOf(db: TestDatabase, table: string): Promise<unknown[]> {
  return (await db.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows;
}

async function count(db: TestDatabase, table: string): Promise<number> {
  const exists = await db.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [table]);
  if (exists.rows[0]?.there !== true) return 0;
  return Number((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n);
}

async function tableStatus(target: TestDatabase, pipeline: string, table: string): Promise<{ state?: string; incremental?: { chunks: number } }> {
  const exists = await target.query(`SELECT to_regclass('dw._zeroetl_checkpoints') IS NOT NULL AS there`);
  if (exists.rows[0]?.there !== true) return {};
  const result = await target.query(`SELECT checkpoint -> 'tables' -> $2::text AS status FROM dw._zeroetl_checkpoints WHERE pipeline = $1`, [pipeline, table]);
  return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: { chunks: number } };
}

/** Saves the config as editors do: a new file renamed over the old one (a watch on the old file would miss it). */
async function saveConfig(file: string, config: Record<string, unknown>): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(config, null, 2));
  await rename(`${file}.tmp`, file);
}

describe("a running pipeline takes a changed filter from its config file (PostgreSQL -> PostgreSQL, through the CLI)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("freload_src");
    target = await createTestDatabase("freload_dst");
    await source.query(`
      CREATE TABLE a (id int PRIMARY KEY, v text NOT NULL);
      INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 50) g;
      CREATE TABLE b (id int PRIMARY KEY, v text NOT NULL);
      INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 2000) g;
      ANALYZE b;
      CREATE TABLE c (id int PRIMARY KEY, v text NOT NULL);
      INSERT INTO c SELECT g, 'c' || g FROM generate_series(1, 3000) g;
      CREATE TABLE d (id int PRIMARY KEY, v text NOT NULL);
      INSERT INTO d VALUES (1, 'd1');
      ANALYZE c;`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("refuses an invalid rewrite naming the field; then snapshots a table added to the filter in the background while writes go on, and stops applying one removed", async () => {
    const base = {
      name: "freload",
      source: { type: "postgres", url: source.url, publication: "freload" },
      target: { type: "postgres", url: target.url, schema: "dw" },
      snapshot: { mode: "incremental", chunkRows: 100 },
      log: { level: "info" },
    };
    const { file, dir } = await writeConfig({ ...base, filter: { include: ["public.a"] } });
    const state = { dir: `${dir}/state` };
    const run = startCli(["run", file]);
    let stderr = "";
    run.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let writing = true;
    let writer: Promise<void> | undefined;
    try {
      await until("the first snapshot of a", async () => (await tableStatus(target, "freload", "public.a")).state === "synced" && (await count(target, "dw.a")) === 50);

      // continuous writes to both tables until told to stop
      let nextA = 51;
      let nextB = 2001;
      writer = (async () => {
        while (writing) {
          const id = 1 + Math.floor(Math.random() * 2000);
          await source.query(
            `BEGIN;
             INSERT INTO a VALUES (${nextA}, 'a${nextA}');
             UPDATE b SET v = v || '+' WHERE id = ${id};
             DELETE FROM b WHERE id = ${(id * 7) % 2000 + 1};
             INSERT INTO b VALUES (${nextB}, 'b${nextB}');
             COMMIT;`,
          );
          nextA++;
          nextB++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      // an invalid rewrite: refused with the field named, and the run goes on with its filter
      await saveConfig(file, { ...base, state, filter: { include: ["public.a", "public"] } });
      await until("the invalid filter to be refused", async () => /"msg":"filter not changed: invalid[^\n]*|"field":"filter\.include\[1\]"[^\n]*filter not changed/.test(stderr));
      expect(stderr).toMatch(/"field":"filter\.include\[1\]"/);
      await saveConfig(file, { ...base, state, filter: { include: ["public.a"] }, batch: { maxRows: "many" } });
      await until("the invalid config to be refused", async () => /"field":"batch\.maxRows"/.test(stderr));
      expect(stderr).toMatch(/config file not reloaded: invalid; the run keeps its current config[^\n]*"field":"batch\.maxRows"|"field":"batch\.maxRows"[^\n]*config file not reloaded: invalid/);
      const afterInvalid = await count(target, "dw.a");
      await until("a's rows to keep arriving after the refused rewrites", async () => (await count(target, "dw.a")) > afterInvalid);
      expect(await count(target, "dw.b")).toBe(0);

      // b joins the filter (and a field that needs a restart changes alongside)
      await saveConfig(file, { ...base, state, filter: { include: ["public.a", "public.b"] }, batch: { maxRows: 5000 } });
      await until("b's incremental snapshot to begin", async () => (await tableStatus(target, "freload", "public.b")).incremental !== undefined);
      const seenWhileReading = new Set<number>();
      let chunksSeen = 0;
      await until("b's incremental snapshot to end", async () => {
        const status = await tableStatus(target, "freload", "public.b");
        if (status.incremental !== undefined) {
          chunksSeen = Math.max(chunksSeen, status.incremental.chunks);
          seenWhileReading.add(await count(target, "dw.a"));
        }
        return status.state === "synced" && status.incremental === undefined;
      });
      // a's rows kept landing while b was read in chunks: the stream was not held back
      expect(seenWhileReading.size).toBeGreaterThan(1);
      expect(chunksSeen).toBeGreaterThan(0);

      writing = false;
      await writer;
      await until("the target to catch up", async () => {
        const [sa, ta, sb, tb] = await Promise.all([rowsOf(source, "public.a"), rowsOf(target, "dw.a"), rowsOf(source, "public.b"), rowsOf(target, "dw.b")]);
        return JSON.stringify(sa) === JSON.stringify(ta) && JSON.stringify(sb) === JSON.stringify(tb);
      });
      expect(await rowsOf(target, "dw.b")).toEqual(await rowsOf(source, "public.b"));
      expect(await rowsOf(target, "dw.a")).toEqual(await rowsOf(source, "public.a"));
      expect(stderr).toMatch(/config fields changed that apply only after a restart: batch\.maxRows/);

      // a leaves the filter: its changes stop being applied, its target copy stays as it is; b goes on
      await saveConfig(file, { ...base, state, filter: { include: ["public.b"] } });
      await until("a to leave the selection", async () => (await tableStatus(target, "freload", "public.a")).state === undefined);
      const aBefore = await rowsOf(target, "dw.a");
      await source.query("INSERT INTO a VALUES (100000, 'after'); INSERT INTO b VALUES (100000, 'after')");
      await until("b's new row", async () => (await count(target, "dw.b")) === (await count(source, "public.b")));
      expect(await rowsOf(target, "dw.a")).toEqual(aBefore);
    } finally {
      writing = false;
      await writer?.catch(() => undefined);
      run.kill("SIGTERM");
      await run.result;
      if (process.env.ZETL_KEEP_LOG !== undefined) await writeFile(process.env.ZETL_KEEP_LOG, stderr);
    }
    expect(stderr).toMatch(/"msg":"filter changed"/);
    expect(stderr).toMatch(/"table":"public\.b"[^\n]*"msg":"incremental snapshot chunk applied"/);
  }, 180_000);

  it("survives a kill -9 in the middle of the background snapshot of a table added live: the restarted run reads the file and resumes from the last durable chunk", async () => {
    const base = {
      name: "freload_crash",
      source: { type: "postgres", url: source.url, publication: "freload_crash" },
      target: { type: "postgres", url: target.url, schema: "dw" },
      snapshot: { mode: "incremental", chunkRows: 50 },
      log: { level: "info" },
    };
    const { file, dir } = await writeConfig({ ...base, filter: { include: ["public.d"] } });
    const state = { dir: `${dir}/state` };
    const first = startCli(["run", file]);
    try {
      await until("the first snapshot of d", async () => (await tableStatus(target, "freload_crash", "public.d")).state === "synced");
      await saveConfig(file, { ...base, state, filter: { include: ["public.d", "public.c"] } });
      await until("three chunks of c to be durable", async () => ((await tableStatus(target, "freload_crash", "public.c")).incremental?.chunks ?? 0) >= 3);
    } finally {
      first.kill("SIGKILL");
      await first.result;
    }
    const killed = await tableStatus(target, "freload_crash", "public.c");
    expect(killed.incremental?.chunks).toBeGreaterThanOrEqual(3);
    // changes while the pipeline is down, before and after the durable cursor
    await source.query("UPDATE c SET v = v || '!' WHERE id % 10 = 0; DELETE FROM c WHERE id % 17 = 0; INSERT INTO c VALUES (5000, 'late')");
    const second = await runCli(["run", "--until-caught-up", file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/"table":"public\.c"[^\n]*"msg":"incremental snapshot resumed"/);
    expect((await tableStatus(target, "freload_crash", "public.c")).state).toBe("synced");
    expect(await rowsOf(target, "dw.c")).toEqual(await rowsOf(source, "public.c"));
    expect(await rowsOf(target, "dw.d")).toEqual(await rowsOf(source, "public.d"));
  }, 180_000);
});
