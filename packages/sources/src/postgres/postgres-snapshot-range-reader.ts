import type pg from "pg";
import type { Row, TableRef, Value } from "@zero-etl/core";
import { ZeroEtlError, snapshotReaderApplicationName, tableKey } from "@zero-etl/core";
import { RAW_TEXT_TYPES, connectPostgres, quoteIdent, type PostgresConnectionSettings } from "./postgres-connection.js";
import { introspectPostgres, type PostgresColumnInfo } from "./postgres-introspector.js";
import { PgTypeCatalog } from "./pg-type-catalog.js";
import type { PgValueDecoder } from "./pg-value-decoder.js";

/** Options of {@link openSnapshotRange}. */
export interface SnapshotRangeOptions {
  /** How to reach the source database the snapshot was exported in. */
  readonly connection: PostgresConnectionSettings;
  /** The exported snapshot's name. */
  readonly snapshot: string;
  /** The relation's OID; it must be `table` inside the snapshot. */
  readonly relationOid: number;
  readonly table: TableRef;
  /** First block of the range (inclusive). */
  readonly fromBlock: number;
  /** Block the range ends before; undefined: to the end of the relation. */
  readonly toBlock: number | undefined;
  /** The columns to read, by name, in this order. */
  readonly columns: readonly string[];
  /** Rows per page. */
  readonly pageRows: number;
}

/** A range of a table being read inside an exported snapshot, on its own session. */
export interface SnapshotRangeReader {
  /** The range's rows, a page at a time, decoded as the PostgreSQL source decodes its snapshot. */
  pages(): AsyncIterable<Row[]>;
  /** Ends the session (its transaction is rolled back: it only read). */
  close(): Promise<void>;
}

/** A snapshot this session cannot import, and why (the server's message). */
export interface SnapshotNotImportable {
  readonly notImportable: string;
}

/**
 * SQLSTATEs of `SET TRANSACTION SNAPSHOT` for a snapshot that cannot be
 * imported here: its exporting transaction ended (22023 no such snapshot,
 * 55000 source process gone), or it was exported in another database
 * (0A000): the URL names another database than the exporter's.
 */
const NOT_IMPORTABLE = new Set(["22023", "55000", "0A000"]);

/**
 * Opens a session that reads one CTID range of a table inside a snapshot
 * another process exported (the Kafka target's distributed snapshot), or
 * says why the snapshot cannot be imported: its exporter ended (the snapshot
 * was finished or abandoned), or it belongs to another database.
 *
 * The session names itself `zero-etl chunk <snapshot>` (the exporter waits
 * for such sessions to end before its stream starts) and takes a transaction
 * id although it only reads: a new logical replication slot becomes
 * consistent only after every transaction with an id running at its
 * creation ended, so the next snapshot of a crashed capture run cannot start
 * while this range may still land in a target. Keep the reader open until
 * what it read is durable, then {@link SnapshotRangeReader.close} it.
 */
export async function openSnapshotRange(options: SnapshotRangeOptions): Promise<SnapshotRangeReader | SnapshotNotImportable> {
  if (!/^[0-9A-Fa-f-]+$/.test(options.snapshot)) throw new ZeroEtlError(`not an exported snapshot name: ${options.snapshot.slice(0, 40)}`, { code: "record-rejected" });
  const client = await connectPostgres(options.connection, { applicationName: snapshotReaderApplicationName(options.snapshot) });
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      await client.query(`SET TRANSACTION SNAPSHOT '${options.snapshot}'`);
    } catch (error) {
      if (NOT_IMPORTABLE.has((error as { code?: string }).code ?? "")) {
        await client.end().catch(() => {});
        return { notImportable: (error as Error).message };
      }
      throw error;
    }
    await client.query("SELECT pg_current_xact_id()");
    const [info] = await introspectPostgres(client, { includes: () => true, oids: [options.relationOid], types: new PgTypeCatalog() });
    const key = tableKey(options.table);
    if (info === undefined || tableKey(info.schema.table) !== key) {
      throw new ZeroEtlError(`relation ${options.relationOid} is not ${key} in the exported snapshot`, { code: "source-failed", table: key });
    }
    const known = new Map<string, PostgresColumnInfo>();
    for (const c of [...info.columns, ...info.generated]) known.set(c.name, c);
    const read = options.columns.map((name) => {
      const column = known.get(name);
      if (column === undefined) throw new ZeroEtlError(`column ${name} of ${key} not found at the source`, { code: "source-failed", table: key });
      return column;
    });
    return new RangeReader(client, options, info.schema.table, read);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

class RangeReader implements SnapshotRangeReader {
  readonly #client: pg.Client;
  readonly #options: SnapshotRangeOptions;
  readonly #table: TableRef;
  readonly #columns: readonly PostgresColumnInfo[];
  #closed = false;

  constructor(client: pg.Client, options: SnapshotRangeOptions, table: TableRef, columns: readonly PostgresColumnInfo[]) {
    this.#client = client;
    this.#options = options;
    this.#table = table;
    this.#columns = columns;
  }

  async *pages(): AsyncGenerator<Row[]> {
    const { fromBlock, toBlock, pageRows } = this.#options;
    const client = this.#client;
    const list = this.#columns.length === 0 ? "NULL" : this.#columns.map((c) => quoteIdent(c.name)).join(", ");
    const from = `${quoteIdent(this.#table.namespace)}.${quoteIdent(this.#table.name)}`;
    const values = toBlock === undefined ? [`(${fromBlock},0)`] : [`(${fromBlock},0)`, `(${toBlock},0)`];
    const where = toBlock === undefined ? "ctid >= $1::tid" : "ctid >= $1::tid AND ctid < $2::tid";
    await client.query({ text: `DECLARE zetl_range NO SCROLL CURSOR FOR SELECT ${list} FROM ${from} WHERE ${where}`, values });
    const names = this.#columns.map((c) => c.name);
    const decoders: PgValueDecoder[] = this.#columns.map((c) => c.decode);
    for (;;) {
      const fetched = await client.query<(string | null)[]>({ text: `FETCH FORWARD ${pageRows} FROM zetl_range`, rowMode: "array", types: RAW_TEXT_TYPES });
      const rows: Row[] = new Array<Row>(fetched.rows.length);
      for (let r = 0; r < fetched.rows.length; r++) {
        const raw = fetched.rows[r] as (string | null)[];
        const row: Record<string, Value> = {};
        for (let i = 0; i < names.length; i++) {
          const text = raw[i];
          row[names[i] as string] = text === null || text === undefined ? null : (decoders[i] as PgValueDecoder)(text);
        }
        rows[r] = row;
      }
      if (rows.length > 0) yield rows;
      if (fetched.rows.length < pageRows) return;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.query("ROLLBACK").catch(() => {});
    await this.#client.end().catch(() => {});
  }
}
