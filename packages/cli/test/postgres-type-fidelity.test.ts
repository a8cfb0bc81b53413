import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// PostgreSQL -> PostgreSQL type fidelity through the CLI: each table gets a
// row before the first run (snapshot) and the same values again afterwards
// (stream); both sides are then read with plain SQL, every cell as `::text`
// and every column's type from pg_attribute.
describe("zeroetl PostgreSQL -> PostgreSQL type fidelity", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let dir: string;

  const tables: Record<string, { columns: string; rows: string[] }> = {
    // Debezium's time_table values, and a few more edges
    times: {
      columns: `ti time, ti24 time, tip time(3), ttz timetz, tptz timetz(3), ttzn timetz, ttzs timetz,
        ts timestamp, ts_ms timestamp(3), ts_max timestamp(6), ts_min timestamp(6), ts_large timestamp, ts_pinf timestamp, ts_ninf timestamp,
        tz timestamptz, tz_max timestamptz, tz_min timestamptz, tz_large timestamptz, tz_pinf timestamptz, tz_ninf timestamptz, tz0 timestamptz(0),
        d date, d_pinf date, d_ninf date, d_large date, d_bc date, it interval, it_neg interval`,
      rows: [
        `'13:51:30', '24:00:00', '13:51:30.123', '13:51:30.123789+02:00', '13:51:30.123+02:00', '23:59:59.999999-15:59', '00:00:00+14:59:59',
        '2016-11-04T13:51:30.123456', '2016-11-04T13:51:30.123', '294247-01-01T23:59:59.999999', '4713-12-31T23:59:59.999999 BC', '21016-11-04T13:51:30.123456', 'infinity', '-infinity',
        '2016-11-04T13:51:30.123456+02:00', '294247-01-01T23:59:59.999999+00:00', '4714-12-31T23:59:59.999999Z BC', '21016-11-04T13:51:30.123456+07:00', 'infinity', '-infinity', '2016-11-04T13:51:30+02:00',
        '2016-11-04', 'infinity', '-infinity', '21016-01-01', '0044-03-15 BC', 'P1Y2M3DT4H5M6.78S', '-178000000 years'`,
      ],
    },
  };

  beforeAll(async () => {
    source = await createTestDatabase("types_src");
    target = await createTestDatabase("types_dst");
    for (const [name, table] of Object.entries(tables)) {
      await source.query(`CREATE TABLE ${name} (id int PRIMARY KEY, ${table.columns})`);
      for (const [i, row] of table.rows.entries()) await source.query(`INSERT INTO ${name} VALUES (${i + 1}, ${row})`);
    }
    ({ file: config, dir } = await writeConfig({
      name: "types_pg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    for (const [name, table] of Object.entries(tables)) {
      for (const [i, row] of table.rows.entries()) await source.query(`INSERT INTO ${name} VALUES (${i + 1001}, ${row})`);
    }
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const columnsOf = async (db: TestDatabase, schema: string, table: string) =>
    (
      await db.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
          WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [schema, table],
      )
    ).rows;
  const cells = async (db: TestDatabase, qualified: string, columns: readonly string[]) =>
    (await db.query(`SELECT ${columns.map((c) => `"${c}"::text AS "${c}"`).join(", ")} FROM ${qualified} ORDER BY id`)).rows;

  /** Compares every cell as text and, for `keepTypes`, the column types. */
  const compare = async (table: string, keepTypes: boolean) => {
    const sourceColumns = await columnsOf(source, "public", table);
    const names = sourceColumns.map((c) => c.name);
    expect(await cells(target, `dw.${table}`, names)).toEqual(await cells(source, `public.${table}`, names));
    if (keepTypes) {
      const targetColumns = (await columnsOf(target, "dw", table)).filter((c) => names.includes(c.name));
      expect(targetColumns).toEqual(sourceColumns);
    }
  };

  it("lands the edge values of time types exactly (snapshot and stream)", async () => {
    await compare("times", false);
  });

  it("dead-letters nothing", async () => {
    const deadLetters = await readFile(join(dir, "state", "types_pg.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  });
});
