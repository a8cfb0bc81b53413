import pg from "pg";
import { createTestDatabase } from "../../test-support/postgres.js";
import type { PairDriver } from "./pair-driver.js";
import { listPgTables, PG_READ_SESSION, readPgRows, readPgSourceTable } from "./pg-table-reader.js";
import { generatePgWorkload, pgLayoutOf, type PgLayout } from "./pg-workload-generator.js";
import { compareTableRows, compareTwinTexts, type Difference } from "./table-comparator.js";
import type { TableRows } from "./table-rows.js";
import type { Workload } from "./workload.js";

/** Runs a multi-statement step and counts the rows it changed plus its DDL statements. */
export async function executePgStep(client: pg.Client, text: string): Promise<number> {
  const results = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
  let events = 0;
  for (const r of Array.isArray(results) ? results : [results]) {
    if (r.command === "INSERT" || r.command === "UPDATE" || r.command === "DELETE") events += r.rowCount ?? 0;
    else if (r.command === "ALTER" || r.command === "CREATE" || r.command === "DROP" || r.command === "TRUNCATE") events += 1;
  }
  return events;
}

/** Opens a client with the comparator's session settings. */
export async function openReadClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(PG_READ_SESSION);
  return client;
}

/** The target table a source table lands in under the layout's naming. */
export function targetTableName(layout: PgLayout, schema: string, table: string): string {
  return layout.naming === "schema_table" ? `${schema}_${table}` : table;
}

/** A source table's rows as the target must hold them: with a row filter, only those with `fz_cat = 'x'`. */
export function filteredRows(layout: PgLayout, schema: string, table: string, rows: TableRows): TableRows {
  if (!layout.rowFilters.has(`${schema}.${table}`)) return rows;
  return { ...rows, rows: rows.rows.filter((r) => r["fz_cat"] === "x") };
}

/**
 * Compares every table of the included source schemas with the target
 * schema by plain SQL on both sides (target names and row filters as the
 * workload's layout says), reports tables the target has and the source
 * does not (a table moved out of the filter must be gone), and compares the
 * raw target text (`row_to_json`) of each snapshotted/streamed twin.
 */
export async function comparePgSchemas(options: {
  readonly source: pg.Client;
  readonly target: pg.Client;
  readonly targetSchema: string;
  readonly workload: Workload;
  readonly jsonExact: boolean;
  /** Whether to compare the twins (default true). */
  readonly twins?: boolean;
  /** Whether a source table without rows may be missing at the target (a Kafka worker creates a table with its first record). */
  readonly emptyMayBeMissing?: boolean;
}): Promise<Difference[]> {
  const { source, target, targetSchema } = options;
  const layout = pgLayoutOf(options.workload);
  const diffs: Difference[] = [];
  const expected = new Set<string>();
  for (const schema of layout.included) {
    for (const table of await listPgTables(source, schema)) {
      const rows = await readPgSourceTable(source, schema, table, options.jsonExact);
      if (rows === undefined) continue;
      const name = targetTableName(layout, schema, table);
      expected.add(name);
      const landed = await readPgRows(target, targetSchema, name, rows.columns);
      if (landed === undefined && options.emptyMayBeMissing === true && filteredRows(layout, schema, table, rows).rows.length === 0) continue;
      diffs.push(...compareTableRows(layout.included.length > 1 ? `${schema}.${table}` : table, filteredRows(layout, schema, table, rows), landed));
    }
  }
  for (const table of await listPgTables(target, targetSchema)) {
    if (!expected.has(table)) diffs.push({ table, key: "*", column: "*", source: "no such table", target: "table" });
  }
  if (options.twins !== false) diffs.push(...(await compareTwins(target, targetSchema, options.workload)));
  return diffs;
}

/** Raw target text of each twin pair, as multisets of `row_to_json` texts. */
export async function compareTwins(target: pg.Client, schema: string, workload: Workload): Promise<Difference[]> {
  const layout = pgLayoutOf(workload);
  const diffs: Difference[] = [];
  for (const [a, b] of workload.twins) {
    const read = async (t: string) => {
      try {
        return (await target.query<{ r: string }>(`SELECT row_to_json(x)::text AS r FROM "${schema}"."${targetTableName(layout, "public", t)}" x`)).rows.map((r) => r.r);
      } catch {
        return [];
      }
    };
    diffs.push(...compareTwinTexts(`${a} / ${b}`, await read(a), await read(b)));
  }
  return diffs;
}

/** PostgreSQL -> PostgreSQL: a fresh source and target database per seed, target schema `dw`. */
export const pgToPgDriver: PairDriver = {
  pair: "pg-pg",
  prefix: "pg",
  generate: (rng, on, focus) => generatePgWorkload({ rng, on, focus, qualifiedNames: true }),
  async open(label, workload, on) {
    const sourceDb = await createTestDatabase(`fz_${label}_s`);
    const targetDb = await createTestDatabase(`fz_${label}_t`);
    const writer = new pg.Client({ connectionString: sourceDb.url });
    await writer.connect();
    return {
      config: { source: { type: "postgres", url: sourceDb.url }, target: { type: "postgres", url: targetDb.url, schema: "dw" }, ...pgLayoutOf(workload).config },
      env: {},
      execute: (step) => executePgStep(writer, step.text),
      async compare() {
        const source = await openReadClient(sourceDb.url);
        const target = await openReadClient(targetDb.url);
        try {
          return await comparePgSchemas({ source, target, targetSchema: "dw", workload, jsonExact: on("json-exact") });
        } finally {
          await source.end();
          await target.end();
        }
      },
      async close() {
        await writer.end();
        await sourceDb.drop();
        await targetDb.drop();
      },
    };
  },
};
