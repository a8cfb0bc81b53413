import { access, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { createTestDatabase } from "../../test-support/postgres.js";
import { readIcebergRows } from "./iceberg-table-reader.js";
import type { PairDriver } from "./pair-driver.js";
import { executePgStep, filteredRows, openReadClient, targetTableName } from "./pg-to-pg-driver.js";
import { listPgTables, readPgSourceTable } from "./pg-table-reader.js";
import { generatePgWorkload, pgLayoutOf } from "./pg-workload-generator.js";
import { compareTableRows, compareTwinTexts, type Difference, type TargetRows } from "./table-comparator.js";

/** PostgreSQL -> Iceberg (filesystem catalog in a temporary directory, namespace `lake`), read back with icebird manifests + DuckDB. */
export const pgToIcebergDriver: PairDriver = {
  pair: "pg-iceberg",
  prefix: "iceberg",
  generate: (rng, on, focus) => generatePgWorkload({ rng, on, focus, maxNumericPrecision: 38, qualifiedNames: false }),
  async open(label, workload) {
    const sourceDb = await createTestDatabase(`fz_${label}_s`);
    const warehouse = await mkdtemp(join(tmpdir(), "zetl-fidelity-lake-"));
    const writer = new pg.Client({ connectionString: sourceDb.url });
    await writer.connect();
    return {
      config: { source: { type: "postgres", url: sourceDb.url }, target: { type: "iceberg", warehouse, namespace: "lake" }, ...pgLayoutOf(workload).config },
      env: {},
      execute: (step) => executePgStep(writer, step.text),
      async compare() {
        const source = await openReadClient(sourceDb.url);
        const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
        const duck = await instance.connect();
        await duck.run("SET TimeZone = 'UTC'").catch(() => undefined);
        const diffs: Difference[] = [];
        try {
          const layout = pgLayoutOf(workload);
          const expected = new Set<string>();
          const landed = new Map<string, TargetRows | undefined>();
          for (const schema of layout.included) {
            for (const table of await listPgTables(source, schema)) {
              const rows = await readPgSourceTable(source, schema, table, false);
              if (rows === undefined) continue;
              const name = targetTableName(layout, schema, table);
              expected.add(name);
              const target = await readIcebergRows(duck, join(warehouse, "lake", name), rows.columns);
              if (schema === "public") landed.set(table, target);
              diffs.push(...compareTableRows(layout.included.length > 1 ? `${schema}.${table}` : table, filteredRows(layout, schema, table, rows), target));
            }
          }
          // a table exists in the filesystem catalog while its version hint does (a dropped table may leave an empty directory behind)
          const lakeTables = await readdir(join(warehouse, "lake")).catch(() => [] as string[]);
          for (const table of lakeTables) {
            if (expected.has(table) || table.startsWith("_zeroetl")) continue;
            const exists = await access(join(warehouse, "lake", table, "metadata", "version-hint.text")).then(() => true, () => false);
            if (exists) diffs.push({ table, key: "*", column: "*", source: "no such table", target: "table" });
          }
          for (const [a, b] of workload.twins) {
            const text = (t: TargetRows | undefined) => (t?.rows ?? []).map((r) => JSON.stringify(Object.entries(r).sort()));
            diffs.push(...compareTwinTexts(`${a} / ${b}`, text(landed.get(a)), text(landed.get(b))));
          }
          return diffs;
        } finally {
          duck.closeSync();
          instance.closeSync();
          await source.end();
        }
      },
      async close() {
        await writer.end();
        await sourceDb.drop();
        await rm(warehouse, { recursive: true, force: true });
      },
    };
  },
};
