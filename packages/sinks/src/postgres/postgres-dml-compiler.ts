import type { RawBuilder } from "kysely";
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from "kysely";
import type { PgTableName } from "./postgres-ddl-compiler.js";
import { pgTableRef } from "./postgres-ddl-compiler.js";

/** Compiles a kysely `sql` template to PostgreSQL text (identifiers quoted, values as `$n`). */
export type PgSqlCompiler = (query: RawBuilder<unknown>) => string;

/** A compiler that needs no connection (kysely's `DummyDriver`), for statement texts built once and cached. */
export function createPgSqlCompiler(): PgSqlCompiler {
  const cold = new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return (query) => query.compile(cold).sql;
}

const placeholderCache = new Map<string, string>();

/** `($1,$2),($3,$4)` for `rows` rows of `columns` values, numbered from `$1`. */
export function valuesPlaceholders(rows: number, columns: number): string {
  const key = `${rows}x${columns}`;
  const cached = placeholderCache.get(key);
  if (cached !== undefined) return cached;
  const parts: string[] = [];
  let n = 1;
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < columns; c++) row.push(`$${n++}`);
    parts.push(`(${row.join(",")})`);
  }
  const text = parts.join(",");
  if (placeholderCache.size > 512) placeholderCache.clear();
  placeholderCache.set(key, text);
  return text;
}

/**
 * `SELECT ... FROM unnest($1::t1[], $2::t2[], ...)`: one array parameter per
 * column, typed by the column's type without modifiers. A column whose type
 * is itself an array cannot travel in an array of arrays (PostgreSQL arrays
 * are multi-dimensional, unnest would flatten them): its values travel as
 * array literals in a `text[]` and are cast back per row.
 */
export function unnestRows(columns: readonly string[], baseTypes: readonly string[]): RawBuilder<unknown> {
  const isArray = baseTypes.map((t) => t.endsWith("[]"));
  const arrays = sql.join(columns.map((_c, i) => sql`${sql.val(null)}::${sql.raw(`${isArray[i] === true ? "text" : unnestElementType(baseTypes[i] ?? "text")}[]`)}`));
  if (!isArray.includes(true)) return sql`SELECT * FROM unnest(${arrays})`;
  const row = sql.id("zetl_unnest");
  const select = columns.map((c, i) => (isArray[i] === true ? sql`${row}.${sql.id(c)}::${sql.raw(unnestElementType(baseTypes[i] ?? "text"))}` : sql`${row}.${sql.id(c)}`));
  return sql`SELECT ${sql.join(select)} FROM unnest(${arrays}) AS ${row}(${sql.join(columns.map((c) => sql.id(c)))})`;
}

/** Types whose unqualified name in a cast means length 1 (`bit` is `bit(1)`, `character` is `character(1)`), and an unbounded type with the same values. */
const LENGTH_ONE_CASTS: Readonly<Record<string, string>> = { bit: "bit varying", character: "bpchar" };

/**
 * The type a column's values are cast to on their way in: the column's type
 * without modifiers (`format_type(oid, NULL)`), except `bit` and
 * `character` (also as array elements), which an explicit cast would
 * silently cut to one character: those travel unbounded (`bit varying`,
 * `bpchar`) and the assignment to the column checks the length.
 */
export function unnestElementType(baseType: string): string {
  const at = baseType.indexOf("[]");
  const element = at < 0 ? baseType : baseType.slice(0, at);
  const unbounded = LENGTH_ONE_CASTS[element];
  return unbounded === undefined ? baseType : `${unbounded}${at < 0 ? "" : baseType.slice(at)}`;
}

/**
 * A multi-row upsert with one array parameter per column:
 * `INSERT INTO t (cols) SELECT * FROM unnest($1::type[], ...) ON CONFLICT
 * (pk) DO UPDATE SET c = EXCLUDED.c` for the non-key columns present (so
 * absent columns, e.g. unchanged TOAST values, keep the target's value);
 * `DO NOTHING` when only key columns are present; no conflict clause for a
 * keyless table. The statement text does not depend on the row count, and a
 * few parameters parse far faster than a long VALUES list. `arrayTypes` are
 * the columns' types without modifiers (`character varying`, `numeric`), so
 * the cast never truncates or rounds: the assignment to the column checks
 * lengths and ranges and fails for a bad record.
 */
export function compileUnnestUpsert(compile: PgSqlCompiler, options: { readonly table: PgTableName; readonly columns: readonly string[]; readonly arrayTypes: readonly string[]; readonly primaryKey: readonly string[] }): string {
  const { table, columns, arrayTypes, primaryKey } = options;
  const insert = sql`INSERT INTO ${pgTableRef(table)} (${sql.join(columns.map((c) => sql.id(c)))}) ${unnestRows(columns, arrayTypes)}`;
  if (primaryKey.length === 0) return compile(insert);
  const key = new Set(primaryKey);
  const updates = columns.filter((c) => !key.has(c));
  const conflict = sql.join(primaryKey.map((k) => sql.id(k)));
  if (updates.length === 0) return compile(sql`${insert} ON CONFLICT (${conflict}) DO NOTHING`);
  return compile(sql`${insert} ON CONFLICT (${conflict}) DO UPDATE SET ${sql.join(updates.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`))}`);
}

/**
 * A multi-row upsert of rows that lack some target columns (unchanged TOAST
 * values, untouched flattened columns): the same array parameters as
 * {@link compileUnnestUpsert}, but the existing rows are changed by an
 * `UPDATE ... FROM unnest(...)` and only the keys it did not find are
 * inserted. `INSERT ... ON CONFLICT DO UPDATE` cannot be used here: PostgreSQL
 * checks NOT NULL on the proposed row before it resolves the conflict, so an
 * absent NOT NULL column would fail the statement although the existing row
 * keeps its value. A key the target does not hold still becomes an insert
 * (which fails, for a record, when an absent column is NOT NULL).
 */
export function compileUnnestPartialUpsert(compile: PgSqlCompiler, options: { readonly table: PgTableName; readonly columns: readonly string[]; readonly arrayTypes: readonly string[]; readonly primaryKey: readonly string[] }): string {
  const { table, columns, arrayTypes, primaryKey } = options;
  const key = new Set(primaryKey);
  const updates = columns.filter((c) => !key.has(c));
  if (primaryKey.length === 0 || updates.length === 0) return compileUnnestUpsert(compile, options);
  const ids = sql.join(columns.map((c) => sql.id(c)));
  const target = sql.id("zetl_target");
  const rows = sql.id("zetl_rows");
  const updated = sql.id("zetl_updated");
  const matchTarget = sql.join(primaryKey.map((k) => sql`${target}.${sql.id(k)} = ${rows}.${sql.id(k)}`), sql` AND `);
  const matchUpdated = sql.join(primaryKey.map((k) => sql`${updated}.${sql.id(k)} = ${rows}.${sql.id(k)}`), sql` AND `);
  return compile(sql`WITH ${rows} (${ids}) AS (${unnestRows(columns, arrayTypes)}),
${updated} AS (UPDATE ${pgTableRef(table)} AS ${target} SET ${sql.join(updates.map((c) => sql`${sql.id(c)} = ${rows}.${sql.id(c)}`))} FROM ${rows} WHERE ${matchTarget} RETURNING ${sql.join(primaryKey.map((k) => sql`${target}.${sql.id(k)}`))})
INSERT INTO ${pgTableRef(table)} (${ids}) SELECT * FROM ${rows} WHERE NOT EXISTS (SELECT 1 FROM ${updated} WHERE ${matchUpdated})`);
}

/** Single-row upsert with VALUES, for the rare in-place key move's fallback. */
export function compileUpsertParts(compile: PgSqlCompiler, table: PgTableName, columns: readonly string[], primaryKey: readonly string[]): { readonly head: string; readonly tail: string } {
  const head = compile(sql`INSERT INTO ${pgTableRef(table)} (${sql.join(columns.map((c) => sql.id(c)))}) VALUES `);
  if (primaryKey.length === 0) return { head, tail: "" };
  const key = new Set(primaryKey);
  const updates = columns.filter((c) => !key.has(c));
  const conflict = sql.join(primaryKey.map((k) => sql.id(k)));
  const tail =
    updates.length === 0
      ? compile(sql` ON CONFLICT (${conflict}) DO NOTHING`)
      : compile(sql` ON CONFLICT (${conflict}) DO UPDATE SET ${sql.join(updates.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`))}`);
  return { head, tail };
}

/** `DELETE FROM t WHERE "k" = ANY($1)`: one array parameter for a single-column key. */
export function compileDeleteByAnyKey(compile: PgSqlCompiler, table: PgTableName, keyColumn: string): string {
  return compile(sql`DELETE FROM ${pgTableRef(table)} WHERE ${sql.id(keyColumn)} = ANY(${sql.val(null)})`);
}

/** `DELETE FROM t WHERE ("a","b") IN ` for composite keys; append {@link valuesPlaceholders} and `)`. */
export function compileDeleteByTupleHead(compile: PgSqlCompiler, table: PgTableName, primaryKey: readonly string[]): string {
  return compile(sql`DELETE FROM ${pgTableRef(table)} WHERE (${sql.join(primaryKey.map((k) => sql.id(k)))}) IN (`);
}

/** Types without an equality operator (`json`, `xml`, geometric types), or whose `=` is not identity (`box` compares areas). */
const NO_IDENTITY_EQUALITY = new Set(["json", "xml", "point", "line", "lseg", "path", "polygon", "circle", "box"]);

/** True when values of a column type (without modifiers) must be matched by their canonical text rather than `=`. */
export function needsTextMatch(baseType: string): boolean {
  return NO_IDENTITY_EQUALITY.has(baseType.endsWith("[]") ? baseType.slice(0, -2) : baseType);
}

/**
 * `ctid = (one row whose columns equal the parameters)`. Columns listed in
 * `textMatch` (column -> its type, see {@link needsTextMatch}) compare as the
 * text of the parameter cast to that type, which is canonical on both sides.
 */
function matchOne(table: PgTableName, columns: readonly string[], textMatch: ReadonlyMap<string, string> | undefined): RawBuilder<unknown> {
  const conditions = columns.map((c) => {
    const type = textMatch?.get(c);
    if (type === undefined) return sql`${sql.id(c)} IS NOT DISTINCT FROM ${sql.val(null)}`;
    return sql`${sql.id(c)}::text IS NOT DISTINCT FROM (${sql.val(null)}::${sql.raw(type)})::text`;
  });
  return sql`ctid = (SELECT ctid FROM ${pgTableRef(table)} WHERE ${sql.join(conditions, sql` AND `)} LIMIT 1)`;
}

/**
 * Keyless update: sets `setColumns` on one row whose `matchColumns` equal
 * the before image (`IS NOT DISTINCT FROM`, so NULLs match; by canonical text
 * for the columns in `textMatch`), chosen by ctid. Parameters: set values,
 * then match values.
 */
export function compileKeylessUpdate(compile: PgSqlCompiler, table: PgTableName, setColumns: readonly string[], matchColumns: readonly string[], textMatch?: ReadonlyMap<string, string>): string {
  const sets = setColumns.map((c) => sql`${sql.id(c)} = ${sql.val(null)}`);
  return compile(sql`UPDATE ${pgTableRef(table)} SET ${sql.join(sets)} WHERE ${matchOne(table, matchColumns, textMatch)}`);
}

/** Keyless delete of one row matching the before image (see {@link compileKeylessUpdate}); parameters: match values. */
export function compileKeylessDelete(compile: PgSqlCompiler, table: PgTableName, matchColumns: readonly string[], textMatch?: ReadonlyMap<string, string>): string {
  return compile(sql`DELETE FROM ${pgTableRef(table)} WHERE ${matchOne(table, matchColumns, textMatch)}`);
}

/** `DELETE FROM t WHERE c1 = $1 AND ...`: every row matching some columns (a parent's child rows); parameters in column order. */
export function compileDeleteMatching(compile: PgSqlCompiler, table: PgTableName, columns: readonly string[]): string {
  const where = columns.map((c) => sql`${sql.id(c)} = ${sql.val(null)}`);
  return compile(sql`DELETE FROM ${pgTableRef(table)} WHERE ${sql.join(where, sql` AND `)}`);
}

/** In-place key change: `UPDATE t SET cols WHERE pk = old`; parameters: set values, then old key values. */
export function compileKeyMove(compile: PgSqlCompiler, table: PgTableName, setColumns: readonly string[], primaryKey: readonly string[]): string {
  const sets = setColumns.map((c) => sql`${sql.id(c)} = ${sql.val(null)}`);
  const where = primaryKey.map((k) => sql`${sql.id(k)} = ${sql.val(null)}`);
  return compile(sql`UPDATE ${pgTableRef(table)} SET ${sql.join(sets)} WHERE ${sql.join(where, sql` AND `)}`);
}

/** `TRUNCATE TABLE t`. */
export function compileTruncate(compile: PgSqlCompiler, table: PgTableName): string {
  return compile(sql`TRUNCATE TABLE ${pgTableRef(table)}`);
}

/** A staging table, always in the session's own temporary schema (`pg_temp`), whatever the search path holds. */
function stageRef(stage: string): RawBuilder<unknown> {
  return sql.id("pg_temp", stage);
}

/**
 * `CREATE TEMPORARY TABLE stage (cols) ON COMMIT DROP`: a session staging
 * table for one batch's rows of one target table. Its columns take the
 * target columns' types without modifiers (as the array casts of
 * {@link unnestRows} do, `bit`/`character` unbounded), so loading never
 * truncates or rounds and the assignment to the target column checks
 * lengths and ranges, exactly as the parameter path does; no constraints,
 * so an absent NOT NULL column fails only where the target row needs it.
 */
export function compileCreateStage(compile: PgSqlCompiler, stage: string, columns: readonly string[], baseTypes: readonly string[]): string {
  const defs = columns.map((c, i) => sql`${sql.id(c)} ${sql.raw(unnestElementType(baseTypes[i] ?? "text"))}`);
  return compile(sql`CREATE TEMPORARY TABLE ${stageRef(stage)} (${sql.join(defs)}) ON COMMIT DROP`);
}

/** `COPY stage (cols) FROM STDIN`: text format, tab-separated, `\N` for NULL. */
export function compileCopyIntoStage(compile: PgSqlCompiler, stage: string, columns: readonly string[]): string {
  return compile(sql`COPY ${stageRef(stage)} (${sql.join(columns.map((c) => sql.id(c)))}) FROM STDIN`);
}

/**
 * `COPY t (cols) FROM STDIN` straight into a target table (text format): the
 * insert fast path, for rows that are new at the source; a key already
 * present fails it with a unique violation.
 */
export function compileCopyIntoTable(compile: PgSqlCompiler, table: PgTableName, columns: readonly string[]): string {
  return compile(sql`COPY ${pgTableRef(table)} (${sql.join(columns.map((c) => sql.id(c)))}) FROM STDIN`);
}

/** `DROP TABLE stage`: the staging table goes right after its statement (it would at commit anyway). */
export function compileDropStage(compile: PgSqlCompiler, stage: string): string {
  return compile(sql`DROP TABLE ${stageRef(stage)}`);
}

/**
 * The staged form of {@link compileUnnestUpsert}: `INSERT INTO t (cols)
 * SELECT cols FROM stage ON CONFLICT (pk) DO UPDATE SET c = EXCLUDED.c` for
 * the non-key columns present (`DO NOTHING` when only key columns are, no
 * conflict clause for a keyless table).
 */
export function compileStagedUpsert(compile: PgSqlCompiler, options: { readonly table: PgTableName; readonly columns: readonly string[]; readonly primaryKey: readonly string[]; readonly stage: string }): string {
  const { table, columns, primaryKey, stage } = options;
  const ids = sql.join(columns.map((c) => sql.id(c)));
  const insert = sql`INSERT INTO ${pgTableRef(table)} (${ids}) SELECT ${ids} FROM ${stageRef(stage)}`;
  if (primaryKey.length === 0) return compile(insert);
  const key = new Set(primaryKey);
  const updates = columns.filter((c) => !key.has(c));
  const conflict = sql.join(primaryKey.map((k) => sql.id(k)));
  if (updates.length === 0) return compile(sql`${insert} ON CONFLICT (${conflict}) DO NOTHING`);
  return compile(sql`${insert} ON CONFLICT (${conflict}) DO UPDATE SET ${sql.join(updates.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`))}`);
}

/**
 * The staged form of {@link compileUnnestPartialUpsert}, for rows that lack
 * some target columns (unchanged TOAST values): the existing rows are
 * changed by `UPDATE … FROM stage` (only the columns present), and only the
 * keys it did not find are inserted, because `INSERT … ON CONFLICT` would
 * check NOT NULL on the proposed row before resolving the conflict.
 */
export function compileStagedPartialUpsert(compile: PgSqlCompiler, options: { readonly table: PgTableName; readonly columns: readonly string[]; readonly primaryKey: readonly string[]; readonly stage: string }): string {
  const { table, columns, primaryKey, stage } = options;
  const key = new Set(primaryKey);
  const updates = columns.filter((c) => !key.has(c));
  if (primaryKey.length === 0 || updates.length === 0) return compileStagedUpsert(compile, options);
  const ids = sql.join(columns.map((c) => sql.id(c)));
  const target = sql.id("zetl_target");
  const rows = stageRef(stage);
  const updated = sql.id("zetl_updated");
  const matchTarget = sql.join(primaryKey.map((k) => sql`${target}.${sql.id(k)} = ${rows}.${sql.id(k)}`), sql` AND `);
  const matchUpdated = sql.join(primaryKey.map((k) => sql`${updated}.${sql.id(k)} = ${rows}.${sql.id(k)}`), sql` AND `);
  return compile(sql`WITH ${updated} AS (UPDATE ${pgTableRef(table)} AS ${target} SET ${sql.join(updates.map((c) => sql`${sql.id(c)} = ${rows}.${sql.id(c)}`))} FROM ${rows} WHERE ${matchTarget} RETURNING ${sql.join(primaryKey.map((k) => sql`${target}.${sql.id(k)}`))})
INSERT INTO ${pgTableRef(table)} (${ids}) SELECT ${ids} FROM ${rows} WHERE NOT EXISTS (SELECT 1 FROM ${updated} WHERE ${matchUpdated})`);
}

/** `DELETE FROM t USING stage WHERE t.k = stage.k AND …`: the keys staged. */
export function compileStagedDelete(compile: PgSqlCompiler, table: PgTableName, primaryKey: readonly string[], stage: string): string {
  const target = sql.id("zetl_target");
  const rows = stageRef(stage);
  const match = sql.join(primaryKey.map((k) => sql`${target}.${sql.id(k)} = ${rows}.${sql.id(k)}`), sql` AND `);
  return compile(sql`DELETE FROM ${pgTableRef(table)} AS ${target} USING ${rows} WHERE ${match}`);
}

