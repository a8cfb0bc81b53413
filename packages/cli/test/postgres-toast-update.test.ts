import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// An update of a small column beside an unchanged out-of-line (TOAST) value:
// pgoutput sends the TOAST column as "unchanged" and the warehouse must take
// the new counter while keeping the body it already has — also after a
// column before them was dropped.
describe("zeroetl with unchanged TOAST values (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let dir: string;

  beforeAll(async () => {
    source = await createTestDatabase("toast_src");
    target = await createTestDatabase("toast_dst");
    await source.query(`
      CREATE TABLE t (id int PRIMARY KEY, note text, counter int NOT NULL, body text NOT NULL);
      ALTER TABLE t ALTER COLUMN body SET STORAGE EXTERNAL;
      INSERT INTO t SELECT g, 'n' || g, 0, repeat(md5(g::text), 420) FROM generate_series(1, 40) g;`);
    ({ file: config, dir } = await writeConfig({
      name: "toast_pg",
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

  it("applies the update and keeps the unchanged body, before and after a dropped column", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    // the body really lives out of line
    const toasted = await source.query<{ size: number }>(`SELECT pg_column_size(body) AS size FROM t WHERE id = 1`);
    expect(Number(toasted.rows[0]?.size)).toBeGreaterThan(13000);

    await source.query(`UPDATE t SET counter = counter + 1 WHERE id <= 25`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await read(target, "dw.t")).toEqual(await read(source, "t"));

    await source.query(`
      ALTER TABLE t DROP COLUMN note;
      UPDATE t SET counter = counter + 10 WHERE id BETWEEN 10 AND 30;
      BEGIN;
      UPDATE t SET counter = counter + 100 WHERE id = 3;
      UPDATE t SET counter = counter + 100 WHERE id = 3;
      COMMIT;`);
    const third = await runCli(["run", config, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);
    expect(await read(target, "dw.t")).toEqual(await read(source, "t"));
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/public\.t\s+synced/);
    // nothing was dead-lettered on the way
    const deadLetters = await readFile(join(dir, "state", "toast_pg.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  });
});
