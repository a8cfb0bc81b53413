import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalObjectStore, loadTableMetadata } from "@zero-etl/sinks/iceberg";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// A PostgreSQL composite type lands as an Iceberg struct (not the text
// '(1,"x y")'), by snapshot and by streaming, read back by DuckDB from the
// Parquet files with nested fields matched by field id.
describe("zeroetl with PostgreSQL -> Iceberg: composite types", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_comp");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TYPE address AS (street text, no int, price numeric(10,2));
      CREATE TABLE homes (id bigint PRIMARY KEY, addr address);
      INSERT INTO homes VALUES (1, ROW('main st', 1, 12.5)), (2, ROW('x "y", z', NULL, NULL)), (3, NULL);`);
    ({ file: config } = await writeConfig({
      name: "lake_composite",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  // both sides as JSON objects built from the typed fields
  const sourceRows = async () =>
    (
      await source.query<{ id: string; addr: string | null }>(`
        SELECT id::text AS id, CASE WHEN addr IS NULL THEN NULL ELSE json_build_object('street', (addr).street, 'no', (addr).no, 'price', (addr).price)::text END AS addr
        FROM homes ORDER BY homes.id`)
    ).rows.map((r) => ({ id: r.id, addr: r.addr === null ? null : (JSON.parse(r.addr) as unknown) }));
  const lakeRows = async () =>
    (await readIcebergByFieldId(join(warehouse, "lake", "homes"), { json: true }))
      .map((r) => ({ id: JSON.parse(r.id ?? "null") as unknown, addr: r.addr === null || r.addr === undefined ? null : (JSON.parse(r.addr) as unknown) }))
      .map((r) => ({ id: String(r.id), addr: r.addr }))
      .sort((a, b) => Number(a.id) - Number(b.id));

  it("lands a composite column as a struct with typed fields", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO homes VALUES (4, ROW('new', 4, 0.01)); UPDATE homes SET addr = ROW('moved', 10, 99.99) WHERE id = 1;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const table = await loadTableMetadata(createLocalObjectStore(), join(warehouse, "lake", "homes"));
    const schema = table?.metadata.schemas.find((s) => s["schema-id"] === table.metadata["current-schema-id"]);
    expect(schema?.fields.find((f) => f.name === "addr")?.type).toMatchObject({
      type: "struct",
      fields: [
        { name: "street", type: "string" },
        { name: "no", type: "int" },
        { name: "price", type: "decimal(10,2)" },
      ],
    });
    expect(await lakeRows()).toEqual(await sourceRows());
  });
});
