import { HISTORY_COLUMNS } from "../postgres/postgres-history-table.js";
import type { CopySource } from "./redshift-load-compiler.js";
import { compileCopy } from "./redshift-load-compiler.js";
import { qualifiedRedshift, quoteRedshift } from "./redshift-identifier.js";

/** The columns of a history table's closes stage besides the key: the closing position and time. */
export const CLOSE_POSITION_COLUMN = "zetl_p";
export const CLOSE_TIME_COLUMN = "zetl_ts";

/** What the history statements need of a table. */
export interface HistoryLoadTarget {
  readonly schema: string;
  readonly table: string;
  /** The source key columns (target names) and their types. */
  readonly key: readonly { readonly name: string; readonly type: string }[];
}

/** The staged files of one versions step (absent: the step has none of them). */
export interface HistoryStepFiles {
  /** Complete version rows, every target column in order. */
  readonly versions?: CopySource;
  /** Key, position and time of the first close of each key. */
  readonly closes?: CopySource;
  /** Version rows some columns of which are copied from the version their key's first close closed. */
  readonly partial: readonly { readonly source: CopySource; readonly keep: readonly string[] }[];
}

/**
 * The statements of one versions step of a history table, one transaction
 * group, replay-safe without any guard table: versions are upserted by
 * (key, `_zeroetl_valid_from`), so a version applied before is rewritten with
 * its final validity; a key's first close applies only to the version that
 * is current and not one of the step's own (after a replay, the current
 * version may be one this step opened earlier: left to the upsert). Order:
 * stage versions and closes, fill partial rows from the closed version (the
 * current one, or after a replay the one already closed at the first close's
 * position), drop closes whose key's current version is the step's own,
 * close, upsert. No value is put into the SQL: every value is staged.
 */
export function compileHistoryStep(target: HistoryLoadTarget, stage: string, files: HistoryStepFiles): string[] {
  const h = HISTORY_COLUMNS;
  const table = qualifiedRedshift(target.schema, target.table);
  const v = quoteRedshift(`${stage}_v`);
  const c = quoteRedshift(`${stage}_c`);
  const keyMatch = (a: string, b: string): string => target.key.map((k) => `${a}.${quoteRedshift(k.name)} = ${b}.${quoteRedshift(k.name)}`).join(" AND ");
  const out: string[] = [`CREATE TEMP TABLE ${v} (LIKE ${table})`];
  if (files.versions !== undefined) out.push(compileCopy(`${stage}_v`, files.versions));
  if (files.closes !== undefined) {
    out.push(`CREATE TEMP TABLE ${c} (${[...target.key.map((k) => `${quoteRedshift(k.name)} ${k.type}`), `${CLOSE_POSITION_COLUMN} VARCHAR(65535)`, `${CLOSE_TIME_COLUMN} TIMESTAMPTZ`].join(", ")})`);
    out.push(compileCopy(`${stage}_c`, files.closes));
  }
  files.partial.forEach((group, i) => {
    const p = quoteRedshift(`${stage}_p${i}`);
    const set = group.keep.map((col) => `${quoteRedshift(col)} = "zetl_t".${quoteRedshift(col)}`).join(", ");
    out.push(`CREATE TEMP TABLE ${p} (LIKE ${table})`, compileCopy(`${stage}_p${i}`, group.source));
    out.push(`UPDATE ${p} SET ${set} FROM ${table} AS "zetl_t" WHERE ${keyMatch(p, '"zetl_t"')} AND "zetl_t".${quoteRedshift(h.isCurrent)}`);
    // after a replay the closed version is the one closed at the key's first close: it wins over whatever is current now
    if (files.closes !== undefined) {
      out.push(`UPDATE ${p} SET ${set} FROM ${table} AS "zetl_t", ${c} WHERE ${keyMatch(p, '"zetl_t"')} AND ${keyMatch(c, p)} AND "zetl_t".${quoteRedshift(h.validTo)} = ${c}.${CLOSE_POSITION_COLUMN}`);
    }
    out.push(`INSERT INTO ${v} SELECT * FROM ${p}`, `DROP TABLE ${p}`);
  });
  if (files.closes !== undefined) {
    // a key whose current version this step opened (a replay) has had its first close applied already
    out.push(
      `DELETE FROM ${c} USING ${table}, ${v} WHERE ${keyMatch(c, table)} AND ${table}.${quoteRedshift(h.isCurrent)} AND ${keyMatch(v, table)} AND ${v}.${quoteRedshift(h.validFrom)} = ${table}.${quoteRedshift(h.validFrom)}`,
    );
    out.push(
      `UPDATE ${table} SET ${quoteRedshift(h.validTo)} = ${c}.${CLOSE_POSITION_COLUMN}, ${quoteRedshift(h.validToTime)} = ${c}.${CLOSE_TIME_COLUMN}, ${quoteRedshift(h.isCurrent)} = FALSE FROM ${c} WHERE ${keyMatch(table, c)} AND ${table}.${quoteRedshift(h.isCurrent)}`,
    );
    out.push(`DROP TABLE ${c}`);
  }
  out.push(
    `DELETE FROM ${table} USING ${v} WHERE ${keyMatch(table, v)} AND ${table}.${quoteRedshift(h.validFrom)} = ${v}.${quoteRedshift(h.validFrom)}`,
    `INSERT INTO ${table} SELECT * FROM ${v}`,
    `DROP TABLE ${v}`,
  );
  return out;
}

/**
 * Closes every current version at a staged position and time (a truncate,
 * or a re-snapshot): a one-row stage, `UPDATE ... FROM` it. A replay closes
 * nothing the later upserts of the same flush do not rewrite.
 */
export function compileHistoryCloseAll(target: HistoryLoadTarget, stage: string, source: CopySource): string[] {
  const h = HISTORY_COLUMNS;
  const table = qualifiedRedshift(target.schema, target.table);
  const m = quoteRedshift(stage);
  return [
    `CREATE TEMP TABLE ${m} (${CLOSE_POSITION_COLUMN} VARCHAR(65535), ${CLOSE_TIME_COLUMN} TIMESTAMPTZ)`,
    compileCopy(stage, source),
    `UPDATE ${table} SET ${quoteRedshift(h.validTo)} = ${m}.${CLOSE_POSITION_COLUMN}, ${quoteRedshift(h.validToTime)} = ${m}.${CLOSE_TIME_COLUMN}, ${quoteRedshift(h.isCurrent)} = FALSE FROM ${m} WHERE ${table}.${quoteRedshift(h.isCurrent)}`,
    `DROP TABLE ${m}`,
  ];
}
