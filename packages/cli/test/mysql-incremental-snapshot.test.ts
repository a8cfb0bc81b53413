import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
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

describe("incremental snapshots (MariaDB -> PostgreSQL, through the CLI)", () => {
  let source: TestMysqlDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestMysqlDatabase("incr_my");
    target = await createTestDatabase("incr_my_dst");
    await source.query(`
      CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL, n INT NOT NULL);
      CREATE TABLE other (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL);`);
    const values = Array.from({ length: 3000 }, (_, i) => `(${i + 1}, 'row ${i + 1}', ${(i + 1) % 97})`).join(",");
    await source.query(`INSERT INTO big VALUES ${values}`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  /** Both sides by plain SQL, ordered by key, as text. */
  async function rows(table: string, columns: string): Promise<{ source: unknown[]; target: unknown[] }> {
    const s = (await source.query(`SELECT ${columns} FROM ${table} ORDER BY id`)) as Record<string, unknown>[];
    const t = (await target.query(`SELECT ${columns} FROM my_dw.${table} ORDER BY id`)).rows as Record<string, unknown>[];
    const text = (list: Record<string, unknown>[]) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
    return { source: text(s), target: text(t) };
  }

  async function progress(table: string): Promise<{ state?: string; incremental?: { chunks: number } }> {
    const exists = await target.query(`SELECT to_regclass('my_dw._zeroetl_checkpoints') IS NOT NULL AS there`);
    if (exists.rows[0]?.there !== true) return {};
    const result = await target.query(`SELECT checkpoint -> 'tables' -> $1::text AS status FROM my_dw._zeroetl_checkpoints WHERE pipeline = 'incr_my'`, [`${source.name}.${table}`]);
    return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: { chunks: number } };
  }

  it("snapshots incrementally under writes, resyncs one table of the running pipeline while the other streams, and ends equal to the source", async () => {
    const { file } = await writeConfig({
      name: "incr_my",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "my_dw" },
      snapshot: { mode: "incremental", chunkRows: 100 },
      log: { level: "info" },
    });
    let writing = true;
    let nextOther = 1;
    let nextBig = 3001;
    const writer = (async () => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * 3000);
        await source.query(
          `START TRANSACTION;
           INSERT INTO other VALUES (${nextOther}, 'o${nextOther}');
           UPDATE big SET v = CONCAT(v, '+'), n = n + 1 WHERE id = ${id};
           DELETE FROM big WHERE id = ${(id * 7) % 3000 + 1};
           INSERT INTO big VALUES (${nextBig}, 'new ${nextBig}', 0);
           COMMIT;`,
        );
        nextOther++;
        nextBig++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const run = startCli(["run", file]);
    try {
      // the first snapshot is incremental, under the writes
      await until("the first snapshot", async () => {
        const p = await progress("big");
        return p.state === "synced" && p.incremental === undefined;
      });

      const signalled = await runCli(["resync", file, `${source.name}.big`]);
      expect(signalled.code, signalled.stderr).toBe(0);
      expect(signalled.stdout).toMatch(/asked the running pipeline incr_my to resync/);
      const seenDuringResync = new Set<number>();
      let chunksSeen = 0;
      await until("the resync to begin and end", async () => {
        const p = await progress("big");
        if (p.incremental !== undefined && p.state === "resyncing") {
          chunksSeen = Math.max(chunksSeen, p.incremental.chunks);
          seenDuringResync.add(Number((await target.query("SELECT count(*)::int AS n FROM my_dw.other")).rows[0]?.n));
        }
        return chunksSeen > 0 && p.state === "synced" && p.incremental === undefined;
      });
      // the other table's rows kept landing while big was read again
      expect(seenDuringResync.size).toBeGreaterThan(1);

      writing = false;
      await writer;
      await until("the target to catch up", async () => {
        const big = await rows("big", "id, v, n");
        const other = await rows("other", "id, v");
        return JSON.stringify(big.source) === JSON.stringify(big.target) && JSON.stringify(other.source) === JSON.stringify(other.target);
      });
      const big = await rows("big", "id, v, n");
      expect(big.target).toEqual(big.source);
      const other = await rows("other", "id, v");
      expect(other.target).toEqual(other.source);
      // the marker table is never replicated
      const markers = await target.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'my_dw' AND table_name = '_zeroetl_watermarks'`);
      expect(markers.rows[0]?.n).toBe(0);
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      run.kill("SIGTERM");
      await run.result;
    }
    const ended = await run.result;
    expect(ended.stderr).toMatch(/resync asked of the running pipeline/);
  });
});
