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
  // a target without the hstore extension
  let bare: TestDatabase;
  let bareConfig: string;
  // the composite column flattened by the unnest mapper
  let flatConfig: string;

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
    // types a PostgreSQL target has too: they keep their type, and their values stay exact
    natives: {
      columns: `j json, jarr json[], jbarr jsonb[], narr numeric[], n2arr numeric(10,2)[], tarr text[], iarr int[], i2d int[], darr date[], inetarr inet[],
        ip inet, net cidr, mac macaddr, mac8 macaddr8, b bit(3), vb bit varying(8), r4 int4range, rn numrange, rtz tstzrange, rd daterange, mr int4multirange,
        tv tsvector, tq tsquery, x xml, pt point, ln line, ls lseg, bx box, pa path, pg polygon, ci circle, lsn pg_lsn,
        bits bit(3)[], chars char(3)[], vcs varchar(4)[], ts3 timestamp(3)[], tzs timetz[], bools bool[], bytes bytea[], uuids uuid[], ivs interval[],
        f8s float8[], moneys money[], qc "char"[], i8s int8[], ch char(3)`,
      rows: [
        `'{"b": 1, "a": 2, "a": 3, "s": "\\u00e9\\n"}', ARRAY['{"a": 1, "a": 2}'::json, '[1,  2]'], ARRAY['{"a": 1}'::jsonb, 'null', NULL], '{1.20,NaN,-0.5,NULL}', '{1.2,3}',
        ARRAY['a,b', 'q"uote', 'back\\slash', NULL, 'NULL', ''], '[0:2]={1,2,3}', '[2:3][-1:0]={{1,2},{3,4}}', ARRAY['0044-03-15 BC'::date, 'infinity', '21016-01-01'], '{10.0.0.1,::1}',
        '192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', B'101', B'1101', '[1,10)', '(1.5,2.5]', '[2020-01-01 00:00+00,2021-01-01 00:00+00)', 'empty', '{[1,3),[5,8)}',
        'a fat cat:2A', 'fat & (rat | cat)', '<a x="1">t</a>', '(1.5,2)', '{1,-1,0}', '[(0,0),(1,1)]', '(1,1),(0,0)', '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))', '<(0,0),2>', '16/B374D848',
        ARRAY[B'101', B'010'], '{"ab","a b",NULL}', '{abcd,""}', '{"2020-01-02 03:04:05.123","4713-12-31 23:59:59.999 BC"}', '{"10:00:00+05:30","24:00:00-15:59"}',
        '{t,f,NULL}', ARRAY['\\x00ff'::bytea, '\\x'], '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"1 year 2 mons -3 days 04:05:06.5","-178000000 years"}',
        '{NaN,Infinity,-Infinity,-0,1.7976931348623157e308,5e-324}', '{1234.56,-0.01}', '{a,"\\\\"}', '{9223372036854775807,-9223372036854775808}', 'ab'`,
      ],
    },
    kv: {
      columns: `h hstore, harr hstore[]`,
      rows: [`'"a"=>"1", "b"=>NULL, "c\\"q"=>"x\\\\y", "1"=>""', ARRAY['"k"=>"v"'::hstore, NULL]`],
    },
    // a composite column, and a stored generated column
    addr: {
      columns: `a address, amount numeric(12,2), total numeric GENERATED ALWAYS AS (amount * 2) STORED`,
      rows: [`ROW('main st', 1, ARRAY['x', 'y"z'], '2020-01-02 03:04:05.123456+02', 1.5, ROW(7, 'in"ner'))::address, 10.25`, `ROW(NULL, -2, NULL, NULL, NULL, NULL)::address, NULL`],
    },
    // LIKE with a backslash escape in a row filter (second pipeline)
    lk: {
      columns: `name text`,
      rows: [`'a_b'`, `'axb'`, `'a\\b'`, `'a\\_b'`],
    },
  };

  beforeAll(async () => {
    source = await createTestDatabase("types_src");
    target = await createTestDatabase("types_dst");
    bare = await createTestDatabase("types_bare");
    await source.query(`CREATE EXTENSION hstore`);
    await target.query(`CREATE EXTENSION hstore`);
    await source.query(`CREATE TYPE inner_t AS (n int, s text); CREATE TYPE address AS (street text, num int, tags text[], at timestamptz, price numeric(10,2), sub inner_t)`);
    // keyless, identified by the whole row: json, xml and geometric types have no equality operator
    await source.query(`CREATE TABLE keyless (n int, j json, x xml, pt point, bx box, ja json[]);
      ALTER TABLE keyless REPLICA IDENTITY FULL;
      INSERT INTO keyless VALUES (1, '{"a": 1, "a": 2}', '<a/>', '(1,2)', '(1,1),(0,0)', ARRAY['{"k": 1}'::json]), (2, '[]', '<b/>', '(3,4)', '(2,2),(0,0)', NULL);`);
    for (const [name, table] of Object.entries(tables)) {
      await source.query(`CREATE TABLE ${name} (id int PRIMARY KEY, ${table.columns})`);
      for (const [i, row] of table.rows.entries()) await source.query(`INSERT INTO ${name} VALUES (${i + 1}, ${row})`);
    }
    ({ file: config, dir } = await writeConfig({
      name: "types_pg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    ({ file: bareConfig } = await writeConfig({
      name: "types_bare",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: bare.url, schema: "dw" },
      filter: { include: ["public.kv", "public.lk"], rows: { "public.lk": "name LIKE 'a\\_b' OR name LIKE '%\\\\\\_%'" } },
    }));
    ({ file: flatConfig } = await writeConfig({
      name: "types_flat",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: bare.url, schema: "flat" },
      filter: { include: ["public.addr"] },
      mapping: { unnest: { mode: "all", lists: "json" } },
    }));
    // independent pipelines (own slots and targets): run side by side
    for (const first of await Promise.all([config, bareConfig, flatConfig].map((file) => runCli(["run", file, "--until-caught-up"])))) {
      expect(first.code, first.stderr).toBe(0);
    }
    for (const [name, table] of Object.entries(tables)) {
      for (const [i, row] of table.rows.entries()) await source.query(`INSERT INTO ${name} VALUES (${i + 1001}, ${row})`);
    }
    await source.query(`UPDATE addr SET amount = amount + 1, a.num = 5 WHERE id = 1`);
    await source.query(`UPDATE keyless SET n = 10 WHERE n = 1; DELETE FROM keyless WHERE n = 2; INSERT INTO keyless VALUES (3, '{"z": null}', '<c/>', '(5,6)', '(3,3),(0,0)', NULL)`);
    for (const second of await Promise.all([config, bareConfig, flatConfig].map((file) => runCli(["run", file, "--until-caught-up"])))) {
      expect(second.code, second.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await bare?.drop();
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

  it("keeps json, arrays (with their lower bounds) and the other PostgreSQL types as themselves", async () => {
    await compare("natives", true);
    // json keeps its text: duplicate keys and escapes
    const json = await target.query<{ j: string }>(`SELECT j::text AS j FROM dw.natives WHERE id = 1001`);
    expect(json.rows[0]?.j).toBe('{"b": 1, "a": 2, "a": 3, "s": "\\u00e9\\n"}');
    const bounds = await target.query<{ b: string }>(`SELECT array_dims(iarr) || array_dims(i2d) AS b FROM dw.natives ORDER BY id`);
    expect(bounds.rows.map((r) => r.b)).toEqual(["[0:2][2:3][-1:0]", "[0:2][2:3][-1:0]"]);
  });

  it("keeps hstore as hstore where the target has the extension, else lands it as a jsonb map", async () => {
    await compare("kv", true);
    const sourceMaps = await source.query(`SELECT id, hstore_to_jsonb(h) AS h FROM kv ORDER BY id`);
    const bareColumns = await columnsOf(bare, "dw", "kv");
    expect(bareColumns.filter((c) => c.name !== "id")).toEqual([{ name: "h", type: "jsonb" }, { name: "harr", type: "jsonb" }]);
    expect((await bare.query(`SELECT id, h FROM dw.kv ORDER BY id`)).rows).toEqual(sourceMaps.rows);
    const harr = await bare.query<{ harr: unknown }>(`SELECT harr FROM dw.kv ORDER BY id`);
    expect(harr.rows.map((r) => r.harr)).toEqual([[{ k: "v" }, null], [{ k: "v" }, null]]);
  });

  it("lands a composite value as a jsonb object of typed fields", async () => {
    const columns = await columnsOf(target, "dw", "addr");
    expect(columns.find((c) => c.name === "a")?.type).toBe("jsonb");
    const fields = `(a).street AS street, (a).num AS num, (a).tags::text AS tags, (a).at::text AS at, (a).price::text AS price, (a).sub.n AS sub_n, (a).sub.s AS sub_s`;
    const expected = (await source.query(`SELECT id, ${fields} FROM addr ORDER BY id`)).rows;
    const actual = await target.query(
      `SELECT id, a->>'street' AS street, (a->>'num')::int AS num, (SELECT array_agg(e ORDER BY o) FROM jsonb_array_elements_text(CASE jsonb_typeof(a->'tags') WHEN 'array' THEN a->'tags' ELSE '[]' END) WITH ORDINALITY AS t(e, o))::text AS tags,
              (a->>'at')::timestamptz::text AS at, (a->>'price')::numeric(10,2)::text AS price, (a->'sub'->>'n')::int AS sub_n, a->'sub'->>'s' AS sub_s
         FROM dw.addr ORDER BY id`,
    );
    expect(actual.rows).toEqual(expected);
    // fields keep their JSON types: numbers stay numbers, a NULL field is JSON null
    const kinds = await target.query(`SELECT jsonb_typeof(a->'num') AS num, jsonb_typeof(a->'tags') AS tags, jsonb_typeof(a->'street') AS street FROM dw.addr ORDER BY id`);
    expect(kinds.rows).toEqual([
      { num: "number", tags: "array", street: "string" },
      { num: "number", tags: "null", street: "null" },
      { num: "number", tags: "array", street: "string" },
      { num: "number", tags: "null", street: "null" },
    ]);
  });

  it("flattens a composite value with the unnest mapper", async () => {
    const expected = await source.query(
      `SELECT id, (a).street, (a).num, to_jsonb((a).tags)::text AS tags, (a).at::text AS at, (a).price::text AS price, (a).sub.n AS sub_n, (a).sub.s AS sub_s, total::text AS total FROM addr ORDER BY id`,
    );
    const actual = await bare.query(
      `SELECT id, a__street AS street, a__num AS num, a__tags::text AS tags, a__at::text AS at, a__price::text AS price, a__sub__n AS sub_n, a__sub__s AS sub_s, total::text AS total FROM flat.addr ORDER BY id`,
    );
    expect(actual.rows).toEqual(expected.rows);
    const types = Object.fromEntries((await columnsOf(bare, "flat", "addr")).map((c) => [c.name, c.type]));
    // lists: "json" keeps the array as jsonb
    expect(types).toMatchObject({ a__num: "integer", a__tags: "jsonb", a__at: "timestamp(6) with time zone", a__price: "numeric(10,2)", a__sub__n: "integer" });
  });

  it("recreates a stored generated column as generated, with the same values", async () => {
    const generated = async (db: TestDatabase, qualified: string) =>
      (
        await db.query(
          `SELECT a.attgenerated AS kind, pg_get_expr(d.adbin, d.adrelid) AS expression FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = $1::regclass AND a.attname = 'total'`,
          [qualified],
        )
      ).rows;
    expect(await generated(target, "dw.addr")).toEqual(await generated(source, "public.addr"));
    expect(await generated(target, "dw.addr")).toEqual([{ kind: "s", expression: "(amount * (2)::numeric)" }]);
    expect(await cells(target, "dw.addr", ["id", "amount", "total"])).toEqual(await cells(source, "public.addr", ["id", "amount", "total"]));
  });

  it("row filters: LIKE treats backslash as the escape character", async () => {
    const names = await bare.query<{ name: string }>(`SELECT name FROM dw.lk ORDER BY id`);
    const expected = await source.query<{ name: string }>(`SELECT name FROM lk WHERE name LIKE 'a\\_b' OR name LIKE '%\\\\\\_%' ORDER BY id`);
    expect(expected.rows.map((r) => r.name)).toEqual(["a_b", "a\\_b", "a_b", "a\\_b"]);
    expect(names.rows).toEqual(expected.rows);
  });

  it("updates and deletes keyless rows whose columns have no equality operator", async () => {
    const read = async (db: TestDatabase, qualified: string) =>
      (await db.query(`SELECT n, j::text AS j, x::text AS x, pt::text AS pt, bx::text AS bx, ja::text AS ja FROM ${qualified} ORDER BY n`)).rows;
    expect(await read(target, "dw.keyless")).toEqual(await read(source, "public.keyless"));
  });

  it("dead-letters nothing and sets no table aside", async () => {
    const deadLetters = await readFile(join(dir, "state", "types_pg.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
    const status = await runCli(["status", config]);
    expect(status.code, status.stderr).toBe(0);
    for (const table of [...Object.keys(tables), "keyless"]) expect(status.stdout).toMatch(new RegExp(`public\\.${table}\\s+synced`));
  });
});
