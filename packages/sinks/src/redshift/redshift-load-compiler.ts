import type { StageFormat } from "./redshift-stage-encoder.js";
import { qualifiedRedshift, quoteRedshift } from "./redshift-identifier.js";

/** What a `COPY` needs besides the table: where the file is and how to read it. */
export interface CopySource {
  readonly location: string;
  readonly iamRole: string;
  readonly format: StageFormat;
}

/**
 * `COPY` of one staged file into a table. Parquet columns map by position;
 * JSON lines by name (`'auto'`), with dates and times in ISO form.
 */
export function compileCopy(table: string, source: CopySource): string {
  const format = source.format === "parquet" ? "FORMAT AS PARQUET" : "FORMAT AS JSON 'auto' DATEFORMAT 'auto' TIMEFORMAT 'auto'";
  // both literals come from validated configuration and generated names, never from row values
  return `COPY ${quoteRedshift(table)} FROM '${source.location}' IAM_ROLE '${source.iamRole}' ${format}`;
}

/** The names a table's load uses. */
export interface LoadTarget {
  readonly schema: string;
  readonly table: string;
  /** Key columns (target names) and their types, for the delete stage. */
  readonly key: readonly { readonly name: string; readonly type: string }[];
}

/**
 * Statements that delete the staged keys from the target: a temporary table
 * of the keys, its `COPY`, `DELETE ... USING`, and its drop.
 */
export function compileDeleteByKeys(target: LoadTarget, stage: string, source: CopySource): string[] {
  const table = qualifiedRedshift(target.schema, target.table);
  return [
    `CREATE TEMP TABLE ${quoteRedshift(stage)} (${target.key.map((k) => `${quoteRedshift(k.name)} ${k.type}`).join(", ")})`,
    compileCopy(stage, source),
    `DELETE FROM ${table} USING ${quoteRedshift(stage)} WHERE ${keyMatch(target, stage)}`,
    `DROP TABLE ${quoteRedshift(stage)}`,
  ];
}

/**
 * Statements that upsert staged rows: a temporary table shaped like the
 * target (`LIKE`), its `COPY`, `DELETE ... USING` of the staged keys and
 * `INSERT ... SELECT *` (the file holds every target column in order), and
 * its drop. Statements stay short whatever the table's width, well under the
 * Data API's 100 KB.
 */
export function compileUpsert(target: LoadTarget, stage: string, source: CopySource): string[] {
  const table = qualifiedRedshift(target.schema, target.table);
  return [
    `CREATE TEMP TABLE ${quoteRedshift(stage)} (LIKE ${table})`,
    compileCopy(stage, source),
    `DELETE FROM ${table} USING ${quoteRedshift(stage)} WHERE ${keyMatch(target, stage)}`,
    `INSERT INTO ${table} SELECT * FROM ${quoteRedshift(stage)}`,
    `DROP TABLE ${quoteRedshift(stage)}`,
  ];
}

/**
 * Like {@link compileUpsert}, for rows some columns of which are kept from
 * the target's current row (unchanged TOAST values the source did not send):
 * after the `COPY`, one `UPDATE ... FROM` fills those columns from the
 * target before the rows replace it.
 */
export function compileUpsertKeeping(target: LoadTarget, stage: string, source: CopySource, keep: readonly string[]): string[] {
  const table = qualifiedRedshift(target.schema, target.table);
  const [create, copy, ...apply] = compileUpsert(target, stage, source);
  const match = target.key.map((k) => `${quoteRedshift(stage)}.${quoteRedshift(k.name)} = "zetl_t".${quoteRedshift(k.name)}`).join(" AND ");
  const set = keep.map((c) => `${quoteRedshift(c)} = "zetl_t".${quoteRedshift(c)}`).join(", ");
  return [create ?? "", copy ?? "", `UPDATE ${quoteRedshift(stage)} SET ${set} FROM ${table} AS "zetl_t" WHERE ${match}`, ...apply];
}

/** Removes every row in the transaction (`TRUNCATE` would commit it in Redshift). */
export function compileDeleteAll(target: LoadTarget): string {
  return `DELETE FROM ${qualifiedRedshift(target.schema, target.table)}`;
}

function keyMatch(target: LoadTarget, stage: string): string {
  const table = qualifiedRedshift(target.schema, target.table);
  return target.key.map((k) => `${table}.${quoteRedshift(k.name)} = ${quoteRedshift(stage)}.${quoteRedshift(k.name)}`).join(" AND ");
}
