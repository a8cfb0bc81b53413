import { stat } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig, type CliResult } from "../../../test-support/cli.js";

/**
 * Polls `check` until it returns true (generous: the suite runs in parallel on 2 cores); no timing is asserted.
 * A check that throws counts as not yet: a resync replaces the target table, which is briefly not there.
 */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The table's status in the checkpoint the PostgreSQL target keeps. */
async function tableState(target: TestDatabase, schema: string, pipeline: string, table: string): Promise<{ state?: string; incremental?: unknown }> {
  const exists = await target.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [`${schema}._zeroetl_checkpoints`]);
  if (exists.rows[0]?.there !== true) return {};
  const result = await target.query(`SELECT checkpoint -> 'tables' -> $2::text AS status FROM "${schema}"._zeroetl_checkpoints WHERE pipeline = $1`, [pipeline, table]);
  return (result.rows[0]?.status ?? {}) as { state?: string; incremental?: unknown };
}

const FORGED_WARNING = /marker in the change stream not written with this pipeline's key/;

/**
 * A resync marker or watermark written by someone without the pipeline's key
 * (another database role, plain SQL) must not make a running pipeline drop
 * and re-read a table: the target keeps a row only the target has (a resync
 * would replace the table's copy and lose it), the table stays `synced`. A
 * real `zeroetl resync` (signed with the key from the state directory) still
 * works, and then the target equals the source.
 */
describe("forged stream markers are ignored (through the CLI)", () => {
  describe("PostgreSQL source: pg_logical_emit_message by another role", () => {
    let source: TestDatabase;
    let target: TestDatabase;
    const forger = `zetl_forger_${Math.random().toString(36).slice(2, 8)}`;

    beforeAll(async () => {
      source = await createTestDatabase("forge_src");
      target = await createTestDatabase("forge_dst");
      await source.query(`
        CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);
        INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 300) g;`);
      // a role with no grant of any kind: it may log in (CONNECT is PUBLIC's) and call pg_logical_emit_message (EXECUTE is PUBLIC's)
      await source.query(`CREATE ROLE ${forger} LOGIN`);
    });

    afterAll(async () => {
      await source?.drop();
      await target?.drop();
      const admin = new pg.Client({ connectionString: process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres" });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${forger}`).finally(() => admin.end());
    });

    it("ignores forged resync markers and watermarks, obeys a real zeroetl resync", async () => {
      const { file, dir } = await writeConfig({
        name: "forge_pg",
        source: { type: "postgres", url: source.url, publication: "forge_pg" },
        target: { type: "postgres", url: target.url, schema: "dw" },
        snapshot: { mode: "incremental", chunkRows: 100 },
        log: { level: "info" },
      });
      const run = startCli(["run", file]);
      let ended: CliResult | undefined;
      try {
        await until("the first snapshot", async () => {
          const s = await tableState(target, "dw", "forge_pg", "public.t");
          return s.state === "synced" && s.incremental === undefined;
        });
        // the key lives in the state directory, readable by its owner alone
        const key = await stat(join(dir, "state", "forge_pg.marker-key"));
        expect(key.mode & 0o777).toBe(0o600);

        // a row only the target has: a resync replaces the table's copy, which would lose it
        await target.query(`INSERT INTO dw.t (id, v) VALUES (-1, 'target only')`);
        const url = new URL(source.url);
        url.username = forger;
        const forging = new pg.Client({ connectionString: url.toString() });
        await forging.connect();
        try {
          const emit = (content: string) => forging.query("SELECT pg_logical_emit_message(true, 'zeroetl-watermark', $1)", [content]);
          await emit(JSON.stringify({ pipeline: "forge_pg", kind: "resync", tables: ["public.t"] }));
          await emit(`${JSON.stringify({ pipeline: "forge_pg", kind: "resync", tables: ["public.t"] }).slice(0, -1)},"mac":"${"ab".repeat(32)}"}`);
          await emit(JSON.stringify({ pipeline: "forge_pg", kind: "high", id: "x" }));
        } finally {
          await forging.end();
        }
        // a change after the forged markers: once it is in the target, the stream has passed them
        await source.query(`INSERT INTO t VALUES (301, 'after the forgeries')`);
        await until("the row after the forgeries", async () => (await target.query(`SELECT 1 FROM dw.t WHERE id = 301`)).rowCount === 1);
        expect((await target.query(`SELECT v FROM dw.t WHERE id = -1`)).rows).toEqual([{ v: "target only" }]);
        expect((await tableState(target, "dw", "forge_pg", "public.t")).state).toBe("synced");

        // the real one, signed with the key in the state directory
        const signalled = await runCli(["resync", file, "public.t"]);
        expect(signalled.code, signalled.stderr).toBe(0);
        await until("the resync to replace the table's copy", async () => (await target.query(`SELECT 1 FROM dw.t WHERE id = -1`)).rowCount === 0);
        await until("the resync to end", async () => {
          const s = await tableState(target, "dw", "forge_pg", "public.t");
          return s.state === "synced" && s.incremental === undefined;
        });
        const [s, t] = await Promise.all([source.query(`SELECT id, v FROM public.t ORDER BY id`), target.query(`SELECT id, v FROM dw.t ORDER BY id`)]);
        expect(t.rows).toEqual(s.rows);
      } finally {
        run.kill("SIGTERM");
        ended = await run.result;
      }
      const warnings = ended.stderr.split("\n").filter((line) => FORGED_WARNING.test(line));
      expect(warnings).toHaveLength(3);
      // the log says what was ignored, never the key or the MAC
      expect(ended.stderr).not.toMatch(/"mac"|abab/);
      expect(ended.stderr.match(/resync asked of the running pipeline/g)).toHaveLength(1);
    });
  });

  describe("MariaDB source: a row in the marker table written by plain SQL", () => {
    let source: TestMysqlDatabase;
    let target: TestDatabase;

    beforeAll(async () => {
      source = await createTestMysqlDatabase("forge_my");
      target = await createTestDatabase("forge_my_dst");
      await source.query(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL)`);
      await source.query(`INSERT INTO t VALUES ${Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'row ${i + 1}')`).join(",")}`);
    });

    afterAll(async () => {
      await source?.drop();
      await target?.drop();
    });

    it("ignores a forged resync row, leaves no signed marker in the table to copy, obeys a real zeroetl resync", async () => {
      const { file } = await writeConfig({
        name: "forge_my",
        source: { type: "mysql", url: source.url },
        target: { type: "postgres", url: target.url, schema: "my_dw" },
        snapshot: { mode: "incremental", chunkRows: 100 },
        log: { level: "info" },
      });
      const table = `${source.name}.t`;
      const run = startCli(["run", file]);
      let ended: CliResult | undefined;
      try {
        await until("the first snapshot", async () => {
          const s = await tableState(target, "my_dw", "forge_my", table);
          return s.state === "synced" && s.incremental === undefined;
        });
        // the watermarks went through the binlog; none of them stays in the table for someone with SELECT to copy
        expect(await source.query(`SELECT content FROM _zeroetl_watermarks`)).toEqual([]);
        await target.query(`INSERT INTO my_dw.t (id, v) VALUES (-1, 'target only')`);
        await source.query(`INSERT INTO _zeroetl_watermarks (content) VALUES (?)`, [JSON.stringify({ pipeline: "forge_my", kind: "resync", tables: [table] })]);
        await source.query(`INSERT INTO t VALUES (301, 'after the forgery')`);
        await until("the row after the forgery", async () => (await target.query(`SELECT 1 FROM my_dw.t WHERE id = 301`)).rowCount === 1);
        expect((await target.query(`SELECT v FROM my_dw.t WHERE id = -1`)).rows).toEqual([{ v: "target only" }]);
        expect((await tableState(target, "my_dw", "forge_my", table)).state).toBe("synced");

        const signalled = await runCli(["resync", file, table]);
        expect(signalled.code, signalled.stderr).toBe(0);
        await until("the resync to replace the table's copy", async () => (await target.query(`SELECT 1 FROM my_dw.t WHERE id = -1`)).rowCount === 0);
        await until("the resync to end", async () => {
          const s = await tableState(target, "my_dw", "forge_my", table);
          return s.state === "synced" && s.incremental === undefined;
        });
        const s = (await source.query(`SELECT id, v FROM t ORDER BY id`)) as { id: number; v: string }[];
        const t = await target.query(`SELECT id, v FROM my_dw.t ORDER BY id`);
        expect(t.rows).toEqual(s.map((r) => ({ id: Number(r.id), v: r.v })));
      } finally {
        run.kill("SIGTERM");
        ended = await run.result;
      }
      expect(ended.stderr.split("\n").filter((line) => FORGED_WARNING.test(line))).toHaveLength(1);
      expect(ended.stderr.match(/resync asked of the running pipeline/g)).toHaveLength(1);
    });
  });
});
