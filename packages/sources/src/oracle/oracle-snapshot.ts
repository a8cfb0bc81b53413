import type { RejectedRecord, Row, SnapshotChunk, Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import type { OracleConnector, OracleDatabase, OracleRow } from "./oracle-database.js";
import { scnOf } from "./oracle-database.js";
import type { OracleColumn, OracleTableModel } from "./oracle-introspector.js";
import type { OraclePosition } from "./oracle-position.js";
import { CURRENT_SCN_SQL, OLDEST_OPEN_TRANSACTION_SQL, TABLE_ROW_ESTIMATE_SQL, quoteOracleIdentifier, rowidRangesSql, snapshotChunkSql, snapshotTableSql } from "./oracle-sql.js";
import { decodeOracleLiteralAs } from "./oracle-value-decoder.js";

/**
 * The SCN a snapshot reads at, and where streaming must start so that it
 * sees every change the snapshot does not: transactions open at that SCN
 * wrote redo before it but commit after it. The oldest open transaction is
 * read between two reads of the current SCN, so one that starts in between
 * is covered by the first read.
 */
export async function takeSnapshotPosition(db: OracleDatabase): Promise<OraclePosition> {
  const before = scnOf((await db.query(CURRENT_SCN_SQL))[0]?.SCN) ?? 0n;
  const oldest = scnOf((await db.query(OLDEST_OPEN_TRANSACTION_SQL))[0]?.SCN);
  const scn = scnOf((await db.query(CURRENT_SCN_SQL))[0]?.SCN) ?? before;
  const open = oldest !== undefined && oldest < before ? oldest : before;
  return { committed: scn, open };
}

/**
 * The select expression of a column in a snapshot query, aliased to the
 * column's name: values come back as the text the value decoder reads
 * (`TO_CHAR` in the session's NLS formats, `RAWTOHEX`), LOBs as themselves.
 */
export function snapshotSelectExpression(name: string, column: OracleColumn): string {
  const q = quoteOracleIdentifier(name);
  const dataType = column.type.dataType.toUpperCase();
  let expression: string;
  if (dataType === "BLOB" || dataType === "CLOB" || dataType === "NCLOB" || dataType === "LONG" || dataType === "LONG RAW") expression = q;
  else if (dataType === "RAW") expression = `RAWTOHEX(${q})`;
  else if (dataType === "XMLTYPE") expression = `XMLSERIALIZE(CONTENT ${q} AS CLOB)`;
  else if (dataType.includes("WITH LOCAL TIME ZONE")) expression = `TO_CHAR(CAST(${q} AS TIMESTAMP WITH TIME ZONE))`;
  else if (column.logical.kind === "string" || column.logical.kind === "json") expression = q;
  else expression = `TO_CHAR(${q})`;
  return `${expression} AS ${q}`;
}

/** Decodes one snapshot row with the table's columns; throws a `record-rejected` error naming the column (never the value) when one cannot be decoded. */
export function decodeSnapshotRow(row: OracleRow, model: OracleTableModel): Row {
  const out: Record<string, Value> = {};
  for (const [name, column] of model.columns) {
    const raw = row[name];
    try {
      if (raw === null || raw === undefined) out[name] = null;
      else if (raw instanceof Uint8Array) out[name] = column.logical.kind === "bytes" ? new Uint8Array(raw) : decodeOracleLiteralAs({ kind: "string", value: Buffer.from(raw).toString("utf8") }, column.logical, column.type.dataType);
      else out[name] = decodeOracleLiteralAs({ kind: "string", value: String(raw) }, column.logical, column.type.dataType);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ZeroEtlError(`column ${name} (${column.type.dataType}): ${reason}`, { code: "record-rejected", cause: error });
    }
  }
  return out;
}

/**
 * Decodes a snapshot row into `rows`, or, when a value cannot be decoded,
 * into `rejected` as an insert carrying the row's key columns (as far as they
 * decode) with the reason, for the dead-letter queue.
 */
function collectSnapshotRow(row: OracleRow, model: OracleTableModel, rows: Row[], rejected: RejectedRecord[]): void {
  try {
    rows.push(decodeSnapshotRow(row, model));
  } catch (error) {
    if (!(error instanceof ZeroEtlError) || error.code !== "record-rejected") throw error;
    const key: Record<string, Value> = {};
    for (const name of model.schema.primaryKey) {
      const column = model.columns.get(name);
      const raw = row[name];
      try {
        key[name] = column === undefined || raw === null || raw === undefined ? null : decodeOracleLiteralAs({ kind: "string", value: String(raw) }, column.logical, column.type.dataType);
      } catch {
        key[name] = null;
      }
    }
    rejected.push({ event: { op: "insert", table: model.schema.table, position: "snapshot", after: key }, reason: error.message });
  }
}

/** Options of {@link readOracleSnapshot}. */
export interface OracleSnapshotReadOptions {
  readonly db: OracleDatabase;
  /** Opens the extra sessions that read chunks in parallel. */
  readonly connect: OracleConnector;
  readonly tables: readonly OracleTableModel[];
  readonly scn: bigint;
  readonly chunkRows: number;
  readonly parallelism: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads every table as of one SCN (`AS OF SCN :scn`). A table whose
 * statistics say it holds more than `chunkRows` rows is split into ROWID
 * ranges of about that many rows, read `parallelism` at a time on their own
 * sessions and yielded in ROWID order.
 */
export async function* readOracleSnapshot(options: OracleSnapshotReadOptions): AsyncGenerator<SnapshotChunk> {
  const sessions: OracleDatabase[] = [];
  try {
    for (const model of options.tables) {
      const { namespace: owner, name } = model.schema.table;
      const selectList = [...model.columns].map(([column, c]) => snapshotSelectExpression(column, c));
      if (selectList.length === 0) throw new ZeroEtlError(`oracle table ${owner}.${name} has no column a target can hold`, { code: "schema-unsupported", table: `${owner}.${name}` });
      const estimate = scnOf((await options.db.query(TABLE_ROW_ESTIMATE_SQL, { owner, tableName: name }))[0]?.NUM_ROWS);
      const rowsEstimated = estimate === undefined ? undefined : Number(estimate);
      const chunks = rowsEstimated === undefined ? 1 : Math.max(1, Math.ceil(rowsEstimated / options.chunkRows));
      const scn = options.scn.toString();
      let ranges: { lo: string; hi: string }[] | undefined;
      if (chunks > 1) {
        ranges = (await options.db.query(rowidRangesSql(owner, name), { chunks, scn })).map((r) => ({ lo: String(r.LO), hi: String(r.HI) }));
      }
      let rowsRead = 0;
      let chunk = 0;
      const base = { table: model.schema.table, schema: model.schema, ...(rowsEstimated === undefined ? {} : { rowsEstimated }) };
      if (ranges === undefined || ranges.length === 0) {
        const rows: Row[] = [];
        const rejected: RejectedRecord[] = [];
        for await (const row of options.db.stream(snapshotTableSql(owner, name, selectList), { scn })) collectSnapshotRow(row, model, rows, rejected);
        rowsRead += rows.length + rejected.length;
        yield { ...base, rows, chunk, last: true, rowsRead, ...(rejected.length === 0 ? {} : { rejected }) };
        continue;
      }
      while (sessions.length < Math.min(options.parallelism, ranges.length)) sessions.push(await options.connect());
      const sql = snapshotChunkSql(owner, name, selectList);
      const read = async (session: OracleDatabase, range: { lo: string; hi: string }): Promise<{ rows: Row[]; rejected: RejectedRecord[] }> => {
        const rows: Row[] = [];
        const rejected: RejectedRecord[] = [];
        for await (const row of session.stream(sql, { scn, lo: range.lo, hi: range.hi })) collectSnapshotRow(row, model, rows, rejected);
        return { rows, rejected };
      };
      // ranges read `parallelism` at a time, each on its own session, yielded in order
      const pending: Promise<{ rows: Row[]; rejected: RejectedRecord[] }>[] = [];
      let next = 0;
      const free = [...sessions];
      const start = (): void => {
        const range = ranges?.[next];
        const session = free.shift();
        if (range === undefined || session === undefined) return;
        next++;
        const rows = read(session, range).finally(() => free.push(session));
        // a range that fails while an earlier one is awaited is reported through that await, not as unhandled
        rows.catch(() => undefined);
        pending.push(rows);
      };
      while (pending.length < sessions.length && next < ranges.length) start();
      while (pending.length > 0) {
        options.signal?.throwIfAborted();
        const { rows, rejected } = await (pending.shift() as Promise<{ rows: Row[]; rejected: RejectedRecord[] }>);
        start();
        rowsRead += rows.length + rejected.length;
        yield { ...base, rows, chunk: chunk++, last: pending.length === 0 && next >= ranges.length, rowsRead, ...(rejected.length === 0 ? {} : { rejected }) };
      }
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  }
}
