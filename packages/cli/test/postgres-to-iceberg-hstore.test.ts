import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { openDuckDb, readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// hstore lands as an Iceberg map<string, string> (issue 19.5, brief
// ice-types item 2): a MAP column in Parquet with key/value field ids, read
// by DuckDB as MAP(VARCHAR, VARCHAR), by snapshot and by streaming (updates
// too, so equality deletes apply). It landed as a JSON string before.
describe("zeroetl with PostgreSQL -> Iceberg: hstore as a map", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let dir: string;
  let restoreFetch: () => void;

  const values = [`'"a"=>"1", "b"=>NULL'`, `''`, `NULL`, `'"é"=>"😀", "1"=>"", "c\\"q"=>"x\\\\y", "k,=>"=>" v "'`, `'"2"=>"two", "10"=>"ten"'`];

  beforeAll(async () => {
    restoreFetch = serveLocalFilesToFetch();
    source = await createTestDatabase("cli_ice_hstore");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    await source.query(`CREATE EXTENSION IF NOT EXISTS hstore`);
    await source.query(`CREATE TABLE h (id int PRIMARY KEY, attrs hstore, tags hstore NOT NULL DEFAULT '')`);
    for (const [i, v] of values.entries()) await source.query(`INSERT INTO h (id, attrs, tags) VALUES (${i + 1}, ${v}, '"n"=>"${i}"')`);
    ({ file: config, dir } = await writeConfig({
      name: "lake_hstore",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const parse = (text: string | null | undefined): unknown => (text === null || text === undefined ? null : JSON.parse(text));
  const sourceRows = async () =>
    (await source.query<{ id: number; attrs: string | null; tags: string }>(`SELECT id, hstore_to_json(attrs)::text AS attrs, hstore_to_json(tags)::text AS tags FROM h ORDER BY id`)).rows.map((r) => ({
      id: String(r.id),
      attrs: parse(r.attrs),
      tags: parse(r.tags),
    }));
  const lakeRows = async () =>
    (await readIcebergByFieldId(join(warehouse, "lake", "h"), { json: true }))
      .map((r) => ({ id: String(r.id), attrs: parse(r.attrs), tags: parse(r.tags) }))
      .sort((a, b) => Number(a.id) - Number(b.id));

  it("lands hstore as map<string, string>, read back by DuckDB as a MAP, by snapshot and by streaming", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);

    await source.query(`INSERT INTO h (id, attrs) VALUES (20, '"x"=>"y", "z"=>NULL')`);
    await source.query(`UPDATE h SET attrs = attrs || '"added"=>"v"'::hstore WHERE id IN (1, 2)`);
    await source.query(`UPDATE h SET attrs = NULL, tags = '"t"=>NULL' WHERE id = 5`);
    await source.query(`DELETE FROM h WHERE id = 3`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    // the Iceberg schema says map, with ids for key and value
    const metadataDir = join(warehouse, "lake", "h", "metadata");
    const hint = (await readFile(join(metadataDir, "version-hint.text"), "utf8")).trim();
    const metadata = JSON.parse(await readFile(join(metadataDir, `v${hint}.metadata.json`), "utf8")) as { "current-schema-id": number; schemas: { "schema-id": number; fields: { name: string; type: unknown }[] }[] };
    const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
    expect(schema?.fields.find((f) => f.name === "attrs")?.type).toMatchObject({ type: "map", key: "string", value: "string", "value-required": false });
    expect(schema?.fields.find((f) => f.name === "attrs")?.type).toHaveProperty("key-id");

    // DuckDB sees a MAP in every data file
    const duck = await openDuckDb();
    try {
      const types = await duck.connection.runAndReadAll(`SELECT DISTINCT typeof(attrs) AS t, typeof(tags) AS u FROM read_parquet('${join(warehouse, "lake", "h", "data", "data-*.parquet")}')`);
      expect(types.getRowObjectsJson()).toEqual([{ t: "MAP(VARCHAR, VARCHAR)", u: "MAP(VARCHAR, VARCHAR)" }]);
    } finally {
      duck.close();
    }

    expect(await lakeRows()).toEqual(await sourceRows());
    const deadLetters = await readFile(join(dir, "state", "lake_hstore.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  });
});
