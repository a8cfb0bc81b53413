import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../../test-support/cli.js";
import { countDocuments, deleteIndices, openSearchUrl, readAllDocuments, searchIds, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// PostgreSQL -> OpenSearch through the real CLI against the real node; every
// source row is compared with its document, read back with plain HTTP.
describe("zeroetl with PostgreSQL -> OpenSearch", () => {
  let source: TestDatabase;
  let config: string;
  let dir: string;
  const prefix = uniqueIndexPrefix("pg");
  const index = `${prefix}.public.items`;

  // the source as the documents must show it: exact numbers as text, bytes as base64, timestamps in UTC
  const SOURCE_ROWS = `
    SELECT id::text AS id, name, price::text AS price, big::text AS big, huge::text AS huge,
           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at, day::text AS day,
           doc::text AS doc, encode(raw, 'base64') AS raw, tags, flag, uid::text AS uid
    FROM items ORDER BY id`;

  async function expectIndexEqualsSource(extra: readonly string[] = []): Promise<void> {
    const rows = (await source.query(`${SOURCE_ROWS.replace("FROM items", `${extra.map((c) => `, ${c}`).join("")} FROM items`)}`)).rows as Record<string, unknown>[];
    const documents = await readAllDocuments(index);
    expect([...documents.keys()].sort()).toEqual(rows.map((r) => String(r.id)).sort());
    for (const row of rows) {
      const document = documents.get(String(row.id));
      expect(document, `document ${String(row.id)}`).toBeDefined();
      const d = document as Record<string, unknown>;
      const at = d.at === null || d.at === undefined ? null : String(d.at).replace(/Z$/, "").padEnd(26, "0").replace(/^(.{19})0{7}$/, "$1.000000");
      expect({
        id: d.id,
        name: d.name,
        price: d.price ?? null,
        big: d.big ?? null,
        huge: d.huge ?? null,
        at: at === null ? null : at.length === 19 ? `${at}.000000` : at,
        day: d.day ?? null,
        doc: d.doc === undefined || d.doc === null ? null : JSON.stringify(d.doc),
        raw: d.raw ?? null,
        tags: d.tags ?? null,
        flag: d.flag ?? null,
        uid: d.uid,
        ...Object.fromEntries(extra.map((c) => [c, d[c] ?? null])),
      }, `document ${String(row.id)}`).toEqual({ ...row, doc: row.doc === null ? null : JSON.stringify(JSON.parse(row.doc as string)) });
    }
  }

  beforeAll(async () => {
    source = await createTestDatabase("os_src");
    await source.query(`
      CREATE TABLE items (
        id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), big int8, huge numeric,
        at timestamptz(6), day date, doc jsonb, raw bytea, tags text[], flag boolean, uid uuid NOT NULL);
      INSERT INTO items
      SELECT i, 'item number ' || i || CASE WHEN i % 10 = 0 THEN ' blue lamp' ELSE ' red chair' END,
             (i * 1.25)::numeric(12,2), 9223372036854775807 - i, 123456789012345678901234567890.123456789 + i,
             timestamptz '2026-01-02 03:04:05.123456+00' + i * interval '1 minute', date '2026-01-01' + i,
             jsonb_build_object('n', i, 'a', jsonb_build_array(1, 'x')), decode('deadbeef', 'hex'), ARRAY['t' || i, 'all'],
             i % 2 = 0, md5(i::text)::uuid
      FROM generate_series(1, 300) AS i;`);
    ({ file: config, dir } = await writeConfig({
      name: `os_pg_${process.pid}`,
      source: { type: "postgres", url: source.url },
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` },
    }));
    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await deleteIndices(prefix);
    void dir;
  });

  it("snapshots the table into an index whose documents equal the rows", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await expectIndexEqualsSource();
  });

  it("streams inserts, updates, deletes, a key change and a new column", async () => {
    await source.query(`
      BEGIN;
      INSERT INTO items (id, name, price, uid) VALUES (1001, 'brand new blue sofa', 99999999.99, gen_random_uuid());
      UPDATE items SET name = 'renamed blue lamp', price = 0.01, big = -9223372036854775808 WHERE id = 5;
      UPDATE items SET id = 5000 WHERE id = 7;
      DELETE FROM items WHERE id IN (8, 9);
      COMMIT;
      ALTER TABLE items ADD COLUMN note varchar(20);
      UPDATE items SET note = 'noted' WHERE id BETWEEN 1 AND 4;
      UPDATE items SET name = name || ' again' WHERE id = 5;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    await expectIndexEqualsSource(["note"]);
  });

  it("searches: a term, a range on a decimal and a match on text", async () => {
    const uid = (await source.query(`SELECT uid::text AS uid FROM items WHERE id = 42`)).rows[0]?.uid as string;
    expect(await searchIds(index, { term: { uid } })).toEqual(["42"]);
    const inRange = (await source.query(`SELECT id::text AS id FROM items WHERE price BETWEEN 10.00 AND 20.00`)).rows.map((r) => r.id as string).sort();
    expect(inRange.length).toBeGreaterThan(0);
    expect(await searchIds(index, { range: { price: { gte: "10.00", lte: "20.00" } } })).toEqual(inRange);
    const blue = (await source.query(`SELECT id::text AS id FROM items WHERE name ~* '\\mblue\\M'`)).rows.map((r) => r.id as string).sort();
    expect(blue.length).toBeGreaterThan(1);
    expect(await searchIds(index, { match: { name: "BLUE" } })).toEqual(blue);
    expect(await searchIds(index, { term: { "note.keyword": "noted" } })).toEqual(["1", "2", "3", "4"]);
  });

  it("keeps a large text the source did not resend (unchanged TOAST) when another column changes", async () => {
    // random text does not compress, so it is stored out of line and an UPDATE of another column does not resend it
    await source.query(`
      ALTER TABLE items ADD COLUMN essay text;
      UPDATE items SET essay = (SELECT string_agg(md5(random()::text), ' ') FROM generate_series(1, 400)) WHERE id = 11;`);
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`UPDATE items SET price = 77.77 WHERE id = 11`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const essay = (await source.query(`SELECT essay FROM items WHERE id = 11`)).rows[0]?.essay as string;
    expect(essay.length).toBeGreaterThan(10_000);
    const document = (await readAllDocuments(index)).get("11");
    expect(document?.price).toBe("77.77");
    expect(document?.essay).toBe(essay);
  });

  it("killed with SIGKILL mid-run, resumes and ends equal to the source", async () => {
    await source.query(`
      INSERT INTO items (id, name, price, uid)
      SELECT i, 'bulk ' || i, i % 1000, gen_random_uuid() FROM generate_series(10000, 14999) AS i;
      UPDATE items SET price = price + 1 WHERE id BETWEEN 10000 AND 10999;
      DELETE FROM items WHERE id BETWEEN 11000 AND 11499;`);
    const before = await countDocuments(index);
    const runner = startCli(["run", config]);
    // kill once the run has written part of the changes
    for (let i = 0; i < 600; i++) {
      if ((await countDocuments(index)) > before) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    runner.kill("SIGKILL");
    const killed = await runner.result;
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const resumed = await runCli(["run", config, "--until-caught-up"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectIndexEqualsSource(["note"]);
  });
});
