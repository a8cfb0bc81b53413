import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A table renamed at the source is re-read under its new name, and the
// stream is then replayed from the checkpoint before the rename. A
// key-changing UPDATE beside an unchanged NOT NULL TOAST value, committed
// before the re-read, is in the rows read already: replayed on top of them
// it finds no row under its old key to take the unchanged value from
// (found by the fidelity fuzzer, pg-pg seed 48: dead-lettered with
// SQLSTATE 23502). The runtime must skip what the re-read holds, by the
// re-read's own exact position.
describe("zeroetl with a renamed table and a key-changing update beside an unchanged TOAST value (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let dir: string;

  beforeAll(async () => {
    source = await createTestDatabase("toast_ren_src");
    target = await createTestDatabase("toast_ren_dst");
    await source.query(`
      CREATE TABLE t (id int PRIMARY KEY, counter int NOT NULL, body text NOT NULL);
      ALTER TABLE t ALTER COLUMN body SET STORAGE EXTERNAL;
      INSERT INTO t SELECT g, 0, repeat(md5(g::text), 420) FROM generate_series(1, 20) g;`);
    ({ file: config, dir } = await writeConfig({
      name: "toast_ren",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const read = async (db: TestDatabase, table: string) =>
    (await db.query(`SELECT id, counter, md5(body) AS body, length(body) AS len FROM ${table} ORDER BY id`)).rows;

  it("lands the renamed table equal to the source, with nothing dead-lettered", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    const toasted = await source.query<{ size: number }>(`SELECT pg_column_size(body) AS size FROM t WHERE id = 1`);
    expect(Number(toasted.rows[0]?.size)).toBeGreaterThan(13000);

    // while the pipeline is stopped: the rename, then key changes that leave the body unchanged
    await source.query(`
      ALTER TABLE t RENAME TO t2;
      UPDATE t2 SET id = id + 100 WHERE id <= 5;
      UPDATE t2 SET counter = counter + 1 WHERE id BETWEEN 6 AND 10;
      BEGIN;
      UPDATE t2 SET id = 200 WHERE id = 11;
      UPDATE t2 SET id = 201, counter = 7 WHERE id = 200;
      COMMIT;
      DELETE FROM t2 WHERE id = 105;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await read(target, "dw.t2")).toEqual(await read(source, "t2"));
    const old = await target.query(`SELECT to_regclass('dw.t') AS t`);
    expect(old.rows[0]?.t).toBeNull();
    // the re-read's temporary slot went with its connection
    const slots = await source.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'zeroetl\\_toast\\_ren\\_resync\\_%'`);
    expect(slots.rows).toEqual([]);

    // and after one more change, streamed normally
    await source.query(`UPDATE t2 SET id = id + 1000, counter = counter + 1 WHERE id IN (101, 12)`);
    const third = await runCli(["run", config, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);
    expect(await read(target, "dw.t2")).toEqual(await read(source, "t2"));

    const deadLetters = await readFile(join(dir, "state", "toast_ren.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/public\.t2\s+synced/);
  });
});
