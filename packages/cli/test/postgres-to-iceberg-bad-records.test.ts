import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// A record the Iceberg writer cannot take must go to the dead-letter queue
// with its table, key and column, and the pipeline must go on (issue 19,
// brief ice-types item 3). Here: a row whose insert was dead-lettered (a
// `24:00:00` time) is later updated beside an unchanged out-of-line (TOAST)
// NOT NULL column. pgoutput does not send the body, the lake has no row to
// take it from, so the new image has a null in a required column: the commit
// failed (`null in a required column [record-rejected]`) and the run exited.
// Read back by DuckDB over the data and delete files (field ids).
describe("zeroetl with PostgreSQL -> Iceberg: a bad record is dead-lettered, the rest lands", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let dir: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    restoreFetch = serveLocalFilesToFetch();
    source = await createTestDatabase("cli_ice_badrec");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    await source.query(`
      CREATE TABLE s (id int PRIMARY KEY, counter int NOT NULL, t time, body text NOT NULL);
      ALTER TABLE s ALTER COLUMN body SET STORAGE EXTERNAL;
      INSERT INTO s SELECT g, 0, time '10:00', repeat(md5(g::text), 420) FROM generate_series(1, 12) g;
      UPDATE s SET t = time '24:00:00' WHERE id = 5;`);
    ({ file: config, dir } = await writeConfig({
      name: "lake_bad_records",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const sourceRows = async (skip: readonly number[]) =>
    (await source.query(`SELECT id::text AS id, counter::text AS counter, t::text AS t, body FROM s WHERE id <> ALL($1::int[]) ORDER BY s.id`, [skip])).rows;
  const lakeRows = async () =>
    (await readIcebergByFieldId(join(warehouse, "lake", "s")))
      .map((r): Record<string, string | null> => ({ ...r, t: r.t === null || r.t === undefined ? null : String(r.t).slice(0, 8) }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  const deadLetters = async () =>
    (await readFile(join(dir, "state", "lake_bad_records.dead-letters.jsonl"), "utf8").catch(() => ""))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { table: string; op: string; key: { id: string }; reason: string });

  it("dead-letters the update that would put a null into the required column and lands every other row", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect((await deadLetters()).map((l) => l.key.id)).toEqual(["5"]);

    // every row updated beside its unchanged body; row 5's body is nowhere in the lake
    await source.query(`UPDATE s SET counter = counter + 1, t = time '11:00'`);
    await source.query(`INSERT INTO s VALUES (13, 7, time '12:00', 'short')`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const letters = await deadLetters();
    expect(letters).toHaveLength(2);
    const late = letters[1];
    expect(late?.table).toBe("public.s");
    expect(late?.key.id).toBe("5");
    expect(late?.reason).toMatch(/column body/);
    expect(late?.reason).toMatch(/required/);
    expect(await lakeRows()).toEqual(await sourceRows([5]));

    // and the pipeline keeps going after it
    await source.query(`UPDATE s SET counter = 100 WHERE id = 1; DELETE FROM s WHERE id = 2`);
    const third = await runCli(["run", config, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);
    expect(await lakeRows()).toEqual(await sourceRows([5]));
  });
});
