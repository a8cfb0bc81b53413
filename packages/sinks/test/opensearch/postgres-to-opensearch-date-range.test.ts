import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { deleteIndices, openSearchUrl, readAllDocuments, searchIds, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// Found by the fuzzer (pnpm fuzz --pair pg-opensearch --seed 3): a
// timestamp(6) column is a `date_nanos` field, which cannot hold an instant
// before 1970 or after 2262, and a `date` field refuses `infinity`; such rows
// were dead-lettered. The document must keep them (the value in `_source`,
// the field left unindexed, as for a decimal beyond a double's range).
describe("PostgreSQL -> OpenSearch: dates and timestamps outside the field's range", () => {
  let source: TestDatabase;
  let config: string;
  let dir: string;
  const name = `os_dates_${process.pid}`;
  const prefix = uniqueIndexPrefix("dates");
  const index = `${prefix}.public.events`;

  // the documents' shape: ISO-8601 with `T`, UTC `Z` for timestamptz, infinity as the word
  const SOURCE_ROWS = `
    SELECT id::text AS id,
           CASE WHEN isfinite(at) THEN to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US') ELSE at::text END AS at,
           CASE WHEN isfinite(atz) THEN to_char(atz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE atz::text END AS atz,
           day::text AS day
      FROM events ORDER BY id`;

  const micros = (v: unknown) => (typeof v === "string" ? v.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z?)$/, (_, s: string, f: string | undefined, z: string) => `${s}.${(f ?? "").padEnd(6, "0")}${z}`) : v);

  async function expectDocumentsEqualSource(): Promise<void> {
    const rows = (await source.query(SOURCE_ROWS)).rows as Record<string, string | null>[];
    const documents = await readAllDocuments(index);
    expect([...documents.keys()].sort()).toEqual(rows.map((r) => String(r.id)).sort());
    for (const row of rows) {
      const d = documents.get(String(row.id)) ?? {};
      expect({ id: String(d.id), at: micros(d.at ?? null), atz: micros(d.atz ?? null), day: d.day ?? null }, `document ${String(row.id)}`).toEqual(row);
    }
    const deadLetters = await readFile(join(dir, "state", `${name}.dead-letters.jsonl`), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  }

  beforeAll(async () => {
    source = await createTestDatabase("os_dates");
    await source.query(`
      SET TimeZone = 'UTC';
      CREATE TABLE events (id int PRIMARY KEY, at timestamp(6), atz timestamptz(6), day date);
      INSERT INTO events VALUES
        (1, '2001-02-03 04:05:06.123456', '2001-02-03 04:05:06.5+00', '2001-02-03'),
        (2, '1915-05-04 18:33:29', '1958-03-06 18:43:26.25+05:30', '1900-01-01'),
        (3, 'infinity', '-infinity', 'infinity'),
        (4, '2300-01-01 00:00:00', '2263-01-01 00:00:00+00', '-infinity');`);
    ({ file: config, dir } = await writeConfig({
      name,
      source: { type: "postgres", url: source.url },
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` },
    }));
  }, 60_000);

  afterAll(async () => {
    await source?.drop();
    await deleteIndices(prefix);
  });

  it("keeps every row by the snapshot and by the stream", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await expectDocumentsEqualSource();
    await source.query(`
      INSERT INTO events VALUES (5, '1969-12-31 23:59:59.999999', '1800-06-01 12:00:00+00', '1850-01-01'), (6, '-infinity', 'infinity', '2100-12-31');
      UPDATE events SET at = '1960-01-01 00:00:00' WHERE id = 1;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    await expectDocumentsEqualSource();
    // the values inside the field's range are still indexed and searchable
    expect(await searchIds(index, { range: { atz: { gte: "2000-01-01T00:00:00Z", lte: "2002-01-01T00:00:00Z" } } })).toEqual(["1"]);
  });
});
