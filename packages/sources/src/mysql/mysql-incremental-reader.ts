import type mysql from "mysql2/promise";
import type { IncrementalChunk, IncrementalSnapshotSource, ReadChunkOptions, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { introspectMysqlTables, type IntrospectedTable } from "./mysql-introspector.js";
import { converterOf, quote, selectExpression, type Converter } from "./mysql-snapshot.js";

/**
 * The table the runtime's markers (incremental snapshot watermarks, signals)
 * are written to, in the replicated database: its rows reach the binlog like
 * any other, and the stream turns them into `ChangeBatch.markers` instead of
 * row events. Never replicated as a table.
 */
export const MARKER_TABLE = "_zeroetl_watermarks";

/** What the reader needs of the source: its admin connection and where the marker table lives. */
export interface MysqlIncrementalReaderOptions {
  readonly connect: () => Promise<mysql.Connection>;
  /** The database of the marker table (the replicated database). */
  readonly database: string;
}

/**
 * The MySQL/MariaDB side of incremental snapshots (`Source.incremental`).
 *
 * A marker is a row inserted into `<database>._zeroetl_watermarks` (created on
 * first use) in a transaction of its own, which deletes it (and any older
 * one) again before it commits, so the table stays empty: the binlog carries
 * the insert in commit order with every other transaction, and no signed
 * marker lies in the table for someone with `SELECT` to copy. Chunks are read by keyset pages
 * over the primary key, one autocommit statement each (InnoDB gives each its
 * own snapshot, taken when it starts), with the initial snapshot's column
 * expressions and converters, so values are those the binlog decoder gives.
 * The cursor is the last row's raw key values as JSON (bytes as base64).
 */
export class MysqlIncrementalReader implements IncrementalSnapshotSource {
  readonly #o: MysqlIncrementalReaderOptions;
  #created = false;
  readonly #tables = new Map<string, { readonly shape: string; readonly table: IntrospectedTable; readonly converters: readonly Converter[] }>();

  constructor(options: MysqlIncrementalReaderOptions) {
    this.#o = options;
  }

  async emitMarker(content: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const conn = await this.#o.connect();
    const table = `${quote(this.#o.database)}.${quote(MARKER_TABLE)}`;
    if (!this.#created) {
      await conn.query(`CREATE TABLE IF NOT EXISTS ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, content TEXT NOT NULL) ENGINE=InnoDB`);
      this.#created = true;
    }
    await conn.query("BEGIN");
    try {
      const [result] = await conn.query(`INSERT INTO ${table} (content) VALUES (?)`, [content]);
      const id = (result as { insertId?: number | string }).insertId;
      // its own row too: the binlog carries the insert, and a marker left in the table could be read and copied by anyone with SELECT on it
      await conn.query(`DELETE FROM ${table} WHERE id <= ?`, [id]);
      await conn.query("COMMIT");
    } catch (error) {
      await conn.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  async readChunk(options: ReadChunkOptions): Promise<IncrementalChunk> {
    options.signal?.throwIfAborted();
    const conn = await this.#o.connect();
    const { table, converters } = await this.#table(conn, options.schema);
    const ref = table.schema.table;
    const names = table.columns.map((c) => c.name);
    const keyIndexes = options.schema.primaryKey.map((k) => names.indexOf(k));
    if (keyIndexes.some((i) => i < 0)) throw new ZeroEtlError(`primary key of ${tableKey(ref)} not found among its columns`, { code: "internal", table: tableKey(ref) });
    const keyList = options.schema.primaryKey.map(quote).join(", ");
    const after = options.after === undefined ? undefined : decodeCursor(options.after, keyIndexes.length, tableKey(ref));
    const where = after === undefined ? "" : ` WHERE (${keyList}) > (${keyIndexes.map(() => "?").join(", ")})`;
    const sql = `SELECT ${table.columns.map(selectExpression).join(", ")} FROM ${quote(ref.namespace)}.${quote(ref.name)}${where} ORDER BY ${keyList} LIMIT ${options.limit}`;
    const [raw] = await conn.query({ sql, rowsAsArray: true }, after ?? []);
    const rawRows = raw as unknown[][];
    const rows: Row[] = new Array<Row>(rawRows.length);
    for (let r = 0; r < rawRows.length; r++) {
      const cells = rawRows[r] as unknown[];
      const row: Record<string, Value> = {};
      for (let i = 0; i < names.length; i++) row[names[i] as string] = (converters[i] as Converter)(cells[i]);
      rows[r] = row;
    }
    const lastRaw = rawRows[rawRows.length - 1];
    const chunk: { rows: Row[]; last: boolean; cursor?: string } = { rows, last: rawRows.length < options.limit };
    if (lastRaw !== undefined) chunk.cursor = encodeCursor(keyIndexes.map((i) => lastRaw[i]));
    return chunk;
  }

  async estimateRows(schema: TableSchema, signal?: AbortSignal): Promise<number | undefined> {
    signal?.throwIfAborted();
    return (await this.#table(await this.#o.connect(), schema)).table.rowsEstimated;
  }

  async #table(conn: mysql.Connection, schema: TableSchema): Promise<{ table: IntrospectedTable; converters: readonly Converter[] }> {
    const key = tableKey(schema.table);
    const shape = `${schema.version}\u0000${schema.columns.map((c) => c.name).join("\u0000")}`;
    const known = this.#tables.get(key);
    if (known !== undefined && known.shape === shape) return known;
    const ref: TableRef = schema.table;
    const [table] = await introspectMysqlTables(conn, { databases: [], tables: [ref] });
    if (table === undefined) throw new ZeroEtlError(`${key} not found at the source for its incremental snapshot`, { code: "source-failed", table: key });
    const entry = { shape, table, converters: table.columns.map(converterOf) };
    this.#tables.set(key, entry);
    return entry;
  }
}

function encodeCursor(values: readonly unknown[]): string {
  return JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? { b64: v.toString("base64") } : v)));
}

function decodeCursor(text: string, length: number, table: string): unknown[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || parsed.length !== length) throw new ZeroEtlError(`incremental snapshot cursor of ${table} does not fit its primary key`, { code: "internal", table });
  return parsed.map((v: unknown) => (typeof v === "object" && v !== null && "b64" in v ? Buffer.from(String((v as { b64: unknown }).b64), "base64") : v));
}
