import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { openDuckDb } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// Numbers without a declared precision, PostgreSQL -> Iceberg through the CLI
// with the default options (fidelity gate iceberg.numeric-unconstrained, issue
// 19 item 3): an unconstrained `numeric` with up to 60 digits and 30
// decimals, and a jsonb attribute holding a 30-digit integer under unnest
// `top-level`, must land with every digit (no dead letter), by snapshot and by
// streaming. DuckDB reads the Parquet data files; PostgreSQL's own text is the
// reference.
describe("zeroetl with PostgreSQL -> Iceberg: numbers without a declared precision", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let dir: string;

  const values = [
    "123456789012345678901234567890123456789012345678901234567890",
    "-0.000000000000000000000000000001",
    "12345678901234567890123456789.123456789012345678901234567891",
    "12.50",
    "NaN",
    "0",
  ];

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_num");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    await source.query(`CREATE TABLE nums (id int PRIMARY KEY, n numeric, doc jsonb)`);
    ({ file: config, dir } = await writeConfig({
      name: "lake_numeric",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
      mapping: { unnest: { mode: "top-level", columns: ["doc"] } },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const insert = async (offset: number) => {
    for (const [i, n] of values.entries()) {
      const big = `${i + 1}${"0".repeat(29)}`;
      await source.query(`INSERT INTO nums VALUES ($1, $2::numeric, $3::jsonb)`, [offset + i, n, `{"big": ${i % 2 === 0 ? big : `-${big}`}, "small": ${i}}`]);
    }
  };

  const sourceRows = async () =>
    (await source.query(`SELECT id, n::text AS n, doc->>'big' AS big, doc->>'small' AS small FROM nums ORDER BY id`)).rows.map((r) => ({ ...r, id: Number(r.id) }));

  const lakeRows = async () => {
    const duck = await openDuckDb();
    try {
      const files = join(warehouse, "lake", "nums", "data", "data-*.parquet");
      const result = await duck.connection.runAndReadAll(`SELECT id, n::VARCHAR AS n, doc__big::VARCHAR AS big, doc__small::VARCHAR AS small FROM read_parquet('${files}') ORDER BY id`);
      return result.getRowObjectsJson();
    } finally {
      duck.close();
    }
  };

  it("lands every digit of unconstrained numerics and of big JSON integers, with nothing dead-lettered", async () => {
    await insert(0);
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await insert(100);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const letters = await readFile(join(dir, "state", "lake_numeric.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(letters).toBe("");
    expect(await lakeRows()).toEqual(await sourceRows());
  });
});
