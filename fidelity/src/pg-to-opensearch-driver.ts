import pg from "pg";
import { createTestDatabase } from "../../test-support/postgres.js";
import { deleteOpenSearchIndices, listOpenSearchTables, looseCanonicalJson, readOpenSearchRows } from "./opensearch-index-reader.js";
import type { PairDriver } from "./pair-driver.js";
import { executePgStep, filteredRows, openReadClient, targetTableName } from "./pg-to-pg-driver.js";
import { listPgTables, readPgSourceTable } from "./pg-table-reader.js";
import { generatePgWorkload, pgLayoutOf } from "./pg-workload-generator.js";
import { compareTableRows, compareTwinTexts, type Difference, type TargetRows } from "./table-comparator.js";
import type { TableRows } from "./table-rows.js";

/** The test node (scripts/test-services.sh). */
export function openSearchNode(): string {
  return process.env.ZETL_OPENSEARCH_URL ?? process.env.ZEROETL_TEST_OPENSEARCH ?? "http://127.0.0.1:59200";
}

/** A source table's JSON-kind columns under the reader's `looseJsonNumbers` rule (the same rule the target side gets). */
function loosenJsonColumns(rows: TableRows): TableRows {
  const json = rows.columns.filter((c) => c.kind === "json" || c.kind === "json-text").map((c) => c.name);
  if (json.length === 0) return rows;
  return { ...rows, rows: rows.rows.map((r) => ({ ...r, ...Object.fromEntries(json.map((c) => [c, looseCanonicalJson(r[c] ?? null)])) })) };
}

/**
 * PostgreSQL -> OpenSearch: a fresh source database per seed, one index
 * (an alias) per table named `<prefix>.<schema>.<table>` with a unique
 * prefix per seed, read back with plain HTTP (`opensearch-index-reader.ts`).
 * The schema is in the index name, so a table moved between the included
 * schemas lands in another index (without it, the moved table's new index
 * would be the old one's name, which the drop of the old table deletes).
 * `autoResync` is on: OpenSearch cannot change a field's type, so a
 * retyped column rebuilds the index (the documented path).
 */
export const pgToOpenSearchDriver: PairDriver = {
  pair: "pg-opensearch",
  prefix: "opensearch",
  generate: (rng, on, focus) => generatePgWorkload({ rng, on, focus, qualifiedNames: false }),
  async open(label, workload) {
    const node = openSearchNode();
    const sourceDb = await createTestDatabase(`fz_${label}_s`);
    const prefix = `zetl_fz_${label}`.toLowerCase();
    const writer = new pg.Client({ connectionString: sourceDb.url });
    await writer.connect();
    return {
      config: {
        source: { type: "postgres", url: sourceDb.url },
        target: { type: "opensearch", node, index: `${prefix}.{namespace}.{table}` },
        autoResync: true,
        ...pgLayoutOf(workload).config,
      },
      env: {},
      execute: (step) => executePgStep(writer, step.text),
      async compare() {
        const source = await openReadClient(sourceDb.url);
        const diffs: Difference[] = [];
        try {
          const layout = pgLayoutOf(workload);
          const expected = new Set<string>();
          const landed = new Map<string, TargetRows | undefined>();
          for (const schema of layout.included) {
            for (const table of await listPgTables(source, schema)) {
              const read = await readPgSourceTable(source, schema, table, false);
              if (read === undefined) continue;
              const rows = loosenJsonColumns(read);
              const index = `${prefix}.${schema}.${targetTableName(layout, schema, table)}`.toLowerCase();
              expected.add(index);
              const target = await readOpenSearchRows(node, index, rows.columns);
              if (schema === "public") landed.set(table, target);
              diffs.push(...compareTableRows(layout.included.length > 1 ? `${schema}.${table}` : table, filteredRows(layout, schema, table, rows), target));
            }
          }
          for (const index of await listOpenSearchTables(node, `${prefix}.`)) {
            if (!expected.has(index)) diffs.push({ table: index, key: "*", column: "*", source: "no such table", target: "index" });
          }
          for (const [a, b] of workload.twins) {
            const text = (t: TargetRows | undefined) => (t?.rows ?? []).map((r) => JSON.stringify(Object.entries(r).sort()));
            diffs.push(...compareTwinTexts(`${a} / ${b}`, text(landed.get(a)), text(landed.get(b))));
          }
          return diffs;
        } finally {
          await source.end();
        }
      },
      async close() {
        await writer.end();
        await sourceDb.drop();
        await deleteOpenSearchIndices(node, `${prefix}.`);
      },
    };
  },
};
