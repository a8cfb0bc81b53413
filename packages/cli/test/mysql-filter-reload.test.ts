import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { startCli } from "../../../test-support/cli.js";

/** Polls `check` until it returns true (generous: the suite runs in parallel on 2 cores); no timing is asserted. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a running pipeline takes a changed filter on SIGHUP (MariaDB -> PostgreSQL, through the CLI)", () => {
  let source: TestMysqlDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestMysqlDatabase("freload_my");
    target = await createTestDatabase("freload_my_dst");
    await source.query(`
      CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL);
      CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL);`);
    await source.query(`INSERT INTO a VALUES ${Array.from({ length: 20 }, (_, i) => `(${i + 1}, 'a${i + 1}')`).join(",")}`);
    await source.query(`INSERT INTO b VALUES ${Array.from({ length: 1500 }, (_, i) => `(${i + 1}, 'b${i + 1}')`).join(",")}`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  /** Both sides by plain SQL, ordered by key, as text. */
  async function rows(table: string): Promise<{ source: unknown[]; target: unknown[] }> {
    const s = (await source.query(`SELECT id, v FROM ${table} ORDER BY id`)) as Record<string, unknown>[];
    const exists = await target.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [`my_fr.${table}`]);
    const t = exists.rows[0]?.there === true ? ((await target.query(`SELECT id, v FROM my_fr.${table} ORDER BY id`)).rows as Record<string, unknown>[]) : [];
    const text = (list: Record<string, unknown>[]) => list.map((r) => ({ id: String(r.id), v: String(r.v) }));
    return { source: text(s), target: text(t) };
  }

  async function progress(table: string): Promise<{ state?: string; incremental?: { chunks: number } }> {
    const exists = await target.query(`SELECT to_regclass('my_fr._zeroetl_checkpoints') IS NOT NULL AS there`);
    if (exists.rows[0]?.there !== true) return {};
    const result = await target.query(`SELECT checkpoint -> 'tables' -> $1::text AS status FROM my_fr._zeroetl_checkpoints WHERE pipeline = 'freload_my'`, [`${source.name}.${table}`]);
    return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: { chunks: number } };
  }

  it("reads a table added to the filter in the background while writes go on, after SIGHUP", async () => {
    // the config path is a symlink to a file elsewhere: rewriting that file is no event in the watched directory,
    // so only SIGHUP tells the run
    const real = await mkdtemp(join(tmpdir(), "zetl-real-"));
    const dir = await mkdtemp(join(tmpdir(), "zetl-cli-"));
    const file = join(dir, "pipeline.json");
    const config = (include: string[]) => ({
      name: "freload_my",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "my_fr" },
      filter: { include },
      snapshot: { mode: "incremental", chunkRows: 100 },
      state: { dir: join(dir, "state") },
      log: { level: "info" },
    });
    await writeFile(join(real, "pipeline.json"), JSON.stringify(config([`${source.name}.a`])));
    await symlink(join(real, "pipeline.json"), file);
    const run = startCli(["run", file]);
    let stderr = "";
    run.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let writing = true;
    let writer: Promise<void> | undefined;
    try {
      await until("the first snapshot of a", async () => (await progress("a")).state === "synced" && (await rows("a")).target.length === 20);
      let nextA = 21;
      let nextB = 1501;
      writer = (async () => {
        while (writing) {
          const id = 1 + Math.floor(Math.random() * 1500);
          await source.query(
            `START TRANSACTION;
             INSERT INTO a VALUES (${nextA}, 'a${nextA}');
             UPDATE b SET v = CONCAT(v, '+') WHERE id = ${id};
             DELETE FROM b WHERE id = ${(id * 7) % 1500 + 1};
             INSERT INTO b VALUES (${nextB}, 'b${nextB}');
             COMMIT;`,
          );
          nextA++;
          nextB++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      await writeFile(join(real, "pipeline.json"), JSON.stringify(config([`${source.name}.a`, `${source.name}.b`])));
      run.kill("SIGHUP");
      await until("b's incremental snapshot to begin", async () => (await progress("b")).incremental !== undefined);
      const seenWhileReading = new Set<number>();
      await until("b's incremental snapshot to end", async () => {
        const status = await progress("b");
        if (status.incremental !== undefined) seenWhileReading.add((await rows("a")).target.length);
        return status.state === "synced" && status.incremental === undefined;
      });
      // a's rows kept landing while b was read in chunks
      expect(seenWhileReading.size).toBeGreaterThan(1);

      writing = false;
      await writer;
      await until("the target to catch up", async () => {
        const [a, b] = await Promise.all([rows("a"), rows("b")]);
        return JSON.stringify(a.source) === JSON.stringify(a.target) && JSON.stringify(b.source) === JSON.stringify(b.target);
      });
      const b = await rows("b");
      expect(b.target).toEqual(b.source);
      const a = await rows("a");
      expect(a.target).toEqual(a.source);
    } finally {
      writing = false;
      await writer?.catch(() => undefined);
      run.kill("SIGTERM");
      await run.result;
      if (process.env.ZETL_KEEP_LOG !== undefined) await writeFile(process.env.ZETL_KEEP_LOG, stderr);
    }
    expect(stderr).toMatch(/"why":"SIGHUP"[^\n]*"msg":"config file changed"/);
    expect(stderr).toMatch(/"msg":"filter changed"/);
  }, 180_000);
});
