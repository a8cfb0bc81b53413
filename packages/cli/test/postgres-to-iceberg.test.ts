import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalObjectStore, readIcebergTable } from "@zero-etl/sinks/iceberg";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// PostgreSQL -> Iceberg through the CLI: snapshot, updates and deletes
// (equality deletes), compaction, and the table read back by icebird (an
// independent reader) and by ours, equal to the source each time.
describe("zeroetl with PostgreSQL -> Iceberg", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), placed timestamptz(6), big numeric(30,4));
      INSERT INTO orders SELECT g, 'c' || (g % 17), g * 1.25, timestamptz '2026-05-01 00:00:00.000001+00' + g * interval '1 hour', g * 1000000000000.0001
        FROM generate_series(1, 3000) g;`);
    ({ file: config } = await writeConfig({
      name: "lake_main",
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

  const location = () => join(warehouse, "lake", "orders");
  const sourceRows = async () =>
    (await source.query(`SELECT id::text AS id, customer, amount::text AS amount, to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS placed, big::text AS big FROM orders ORDER BY orders.id`)).rows;
  const normalise = (rows: readonly Record<string, unknown>[]) =>
    rows
      .map((r) => ({
        id: String(r.id),
        customer: r.customer,
        amount: r.amount === null ? null : String(r.amount),
        placed: r.placed instanceof Date ? r.placed.toISOString() : r.placed,
        big: r.big === null ? null : String(r.big),
      }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  const ours = async () => normalise((await readIcebergTable({ store: createLocalObjectStore(), location: location() })).rows as Record<string, unknown>[]);

  it("snapshots, applies updates and deletes, compacts, and reads back equal", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect(await ours()).toEqual(await sourceRows());
    expect((await icebergRead({ tableUrl: location() })).length).toBe(3000);

    await source.query(`
      UPDATE orders SET customer = 'vip', amount = 99999.99 WHERE id % 10 = 0;
      DELETE FROM orders WHERE id % 7 = 0;
      UPDATE orders SET id = id + 100000 WHERE id = 1;
      INSERT INTO orders VALUES (5000, 'new', NULL, NULL, NULL);`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const expected = await sourceRows();
    expect(await ours()).toEqual(expected);
    // icebird applies the equality deletes itself
    const independent = (await icebergRead({ tableUrl: location() })) as Record<string, unknown>[];
    expect(independent.map((r) => String(r.id)).sort()).toEqual(expected.map((r) => r.id).sort());

    const maintain = await runCli(["maintain", config, "--expire-older-than-hours", "0", "--retain-last", "1"]);
    expect(maintain.code, maintain.stderr).toBe(0);
    expect(maintain.stdout).toMatch(/public\.orders\s+compacted/);
    expect(await ours()).toEqual(expected);
    // icebird returns decimals as JS numbers and timestamps as millisecond
    // Dates, so it is compared on what those keep exactly
    const coarse = (rows: readonly { id: unknown; customer: unknown; amount: unknown }[]) =>
      rows.map((r) => ({ id: String(r.id), customer: r.customer, amount: r.amount === null ? null : Number(r.amount) })).sort((a, b) => Number(a.id) - Number(b.id));
    const compacted = (await icebergRead({ tableUrl: location() })) as { id: unknown; customer: unknown; amount: unknown }[];
    expect(coarse(compacted)).toEqual(coarse(expected as { id: unknown; customer: unknown; amount: unknown }[]));
  });
});
