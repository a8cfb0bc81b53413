import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { deleteIndices, openSearchRequest, openSearchUrl, readAllDocuments, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// A column type change that no mapping can take: the index is rebuilt from a
// fresh snapshot (replaceTable), and the documents equal the rows again.
describe("zeroetl with PostgreSQL -> OpenSearch, a column changing type", () => {
  let source: TestDatabase;
  let config: string;
  const prefix = uniqueIndexPrefix("rs");
  const index = `${prefix}.public.parts`;

  beforeAll(async () => {
    source = await createTestDatabase("os_rs");
    await source.query(`
      CREATE TABLE parts (id int PRIMARY KEY, weight int, label text);
      INSERT INTO parts SELECT i, i * 3, 'part ' || i FROM generate_series(1, 50) AS i;`);
    ({ file: config } = await writeConfig({
      name: `os_rs_${process.pid}`,
      source: { type: "postgres", url: source.url },
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` },
      autoResync: true,
    }));
    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await deleteIndices(prefix);
  });

  it("rebuilds the index with the new field type", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    const before = Object.values((await openSearchRequest("GET", `/${index}/_mapping`)).body as Record<string, any>)[0].mappings.properties;
    expect(before.weight.type).toBe("integer");

    await source.query(`
      ALTER TABLE parts ALTER COLUMN weight TYPE numeric(10,2) USING weight / 2.0;
      UPDATE parts SET weight = 0.25, label = 'light' WHERE id = 1;
      DELETE FROM parts WHERE id = 2;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const third = await runCli(["run", config, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);

    const after = Object.values((await openSearchRequest("GET", `/${index}/_mapping`)).body as Record<string, any>)[0].mappings.properties;
    expect(after.weight.type).toBe("double");
    const rows = (await source.query(`SELECT id::text AS id, weight::text AS weight, label FROM parts ORDER BY id`)).rows;
    const documents = await readAllDocuments(index);
    expect([...documents.keys()].sort()).toEqual(rows.map((r) => r.id as string).sort());
    for (const row of rows) {
      const d = documents.get(row.id as string);
      expect({ id: String(d?.id), weight: d?.weight, label: d?.label }).toEqual(row);
    }
  });
});
