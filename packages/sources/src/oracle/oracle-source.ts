import type { ChangeBatch, PreflightOptions, PreflightReport, SnapshotOptions, SnapshotSession, Source, SourceCapabilities, StreamOptions, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { oracleDriverError } from "./oracle-connection-error.js";
import type { OracleConnector, OracleDatabase } from "./oracle-database.js";
import { scnOf } from "./oracle-database.js";
import type { OracleTableModel, OracleTableSelection } from "./oracle-introspector.js";
import { introspectOracleTable, listOracleTables } from "./oracle-introspector.js";
import { OracleLogMinerReader, ensureFlushTable } from "./oracle-logminer-reader.js";
import type { OraclePosition } from "./oracle-position.js";
import { oraclePositionCodec } from "./oracle-position.js";
import { runOraclePreflight } from "./oracle-preflight.js";
import { readOracleSnapshot, takeSnapshotPosition } from "./oracle-snapshot.js";
import type { OracleSourceOptions, ResolvedOracleSourceOptions } from "./oracle-source-options.js";
import { resolveOracleSourceOptions } from "./oracle-source-options.js";
import { CURRENT_SCN_SQL } from "./oracle-sql.js";
import { TransactionBuffer } from "./oracle-transaction-buffer.js";
import { createOracleDbConnector } from "./oracledb-database.js";

const CAPABILITIES: SourceCapabilities = Object.freeze({ beforeImage: "never", transactions: true, schemaChanges: false, truncate: false });

/**
 * An Oracle change-data-capture source over LogMiner (see
 * docs/connectors/oracle.md).
 *
 * - `snapshot` reads every selected table `AS OF SCN` one SCN, in ROWID
 *   ranges read in parallel, and returns the position streaming starts from
 *   (that SCN, and the oldest transaction open then).
 * - `stream` mines SCN windows with `DBMS_LOGMNR` on its own session and
 *   yields committed transactions in commit order ({@link OracleLogMinerReader}).
 * - `acknowledge` keeps nothing at the server (archived-log retention is the
 *   DBA's); `currentPosition` is the current SCN.
 */
export function createOracleSource(options: OracleSourceOptions): Source {
  return new OracleSource(resolveOracleSourceOptions(options));
}

class OracleSource implements Source {
  readonly kind = "oracle";
  readonly capabilities = CAPABILITIES;
  readonly positions = oraclePositionCodec;
  readonly #o: ResolvedOracleSourceOptions;
  readonly #connect: OracleConnector;
  #admin: Promise<OracleDatabase> | undefined;
  #acknowledged: OraclePosition | undefined;

  constructor(options: ResolvedOracleSourceOptions) {
    this.#o = options;
    this.#connect = options.connect ?? createOracleDbConnector({ url: options.url, connectTimeoutMs: options.timeouts.connectMs, queryTimeoutMs: options.timeouts.queryMs });
  }

  #selection(): OracleTableSelection {
    const o = this.#o;
    return { owner: o.owner, ...(o.tables === undefined ? {} : { tables: o.tables }), ...(o.include === undefined ? {} : { include: o.include }) };
  }

  #adminSession(): Promise<OracleDatabase> {
    if (this.#admin === undefined) {
      const pending = this.#connect();
      pending.catch(() => {
        if (this.#admin === pending) this.#admin = undefined;
      });
      this.#admin = pending;
    }
    return this.#admin;
  }

  async #models(db: OracleDatabase, tables?: SnapshotOptions["tables"]): Promise<OracleTableModel[]> {
    const refs = tables ?? (await listOracleTables(db, this.#selection()));
    const models: OracleTableModel[] = [];
    for (const ref of refs) {
      const model = await introspectOracleTable(db, ref);
      if (model !== undefined) models.push(model);
    }
    return models;
  }

  /** Runs `work` on the admin session; a session that broke under it is dropped, so the next call opens a new one. */
  async #withAdmin<T>(work: (db: OracleDatabase) => Promise<T>): Promise<T> {
    const pending = this.#adminSession();
    try {
      return await work(await pending);
    } catch (error) {
      const wrapped = oracleDriverError(error, "query");
      if (wrapped instanceof ZeroEtlError && wrapped.retryable && this.#admin === pending) {
        this.#admin = undefined;
        await (await pending.catch(() => undefined))?.close().catch(() => undefined);
      }
      throw error instanceof ZeroEtlError ? error : wrapped;
    }
  }

  async introspect(signal?: AbortSignal): Promise<readonly TableSchema[]> {
    signal?.throwIfAborted();
    return this.#withAdmin(async (db) => (await this.#models(db)).map((m) => m.schema));
  }

  async preflight(options: PreflightOptions): Promise<PreflightReport> {
    options.signal?.throwIfAborted();
    return this.#withAdmin(async (db) => runOraclePreflight(db, await listOracleTables(db, this.#selection()), options.fix));
  }

  async snapshot(options: SnapshotOptions): Promise<SnapshotSession> {
    const { db, position, models } = await this.#withAdmin(async (db) => {
      const position = await takeSnapshotPosition(db);
      return { db, position, models: await this.#models(db, options.tables) };
    });
    const chunks = readOracleSnapshot({
      db,
      connect: this.#connect,
      tables: models,
      scn: position.committed,
      chunkRows: this.#o.snapshotChunkRows,
      parallelism: this.#o.snapshotParallelism,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return { position: oraclePositionCodec.serialize(position), schemas: models.map((m) => m.schema), chunks };
  }

  stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch> {
    return this.#stream(oraclePositionCodec.parse(from), options);
  }

  async *#stream(start: OraclePosition, options: StreamOptions): AsyncGenerator<ChangeBatch> {
    if (options.signal?.aborted === true) return;
    // a LogMiner session belongs to one database session: the stream has its own
    const db = await this.#connect();
    const buffer = new TransactionBuffer({ spillAfter: this.#o.spillAfterEvents, ...(this.#o.spillDir === undefined ? {} : { dir: this.#o.spillDir }) });
    try {
      await ensureFlushTable(db, this.#o.flushTable);
      const tables = new Map((await this.#models(db)).map((m) => [tableKey(m.schema.table), m]));
      const reader = new OracleLogMinerReader({
        db,
        selection: this.#selection(),
        tables,
        start,
        windowScns: this.#o.windowScns,
        pollMs: this.#o.pollMs,
        maxBatchEvents: this.#o.maxBatchEvents,
        flushTable: this.#o.flushTable,
        buffer,
        ...(this.#o.logger === undefined ? {} : { logger: this.#o.logger }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      yield* reader.read();
    } catch (error) {
      throw oracleDriverError(error, "stream");
    } finally {
      await buffer.close();
      await db.close().catch(() => undefined);
    }
  }

  async acknowledge(checkpoint: string): Promise<void> {
    const position = oraclePositionCodec.parse(checkpoint);
    if (this.#acknowledged !== undefined && oraclePositionCodec.compare(position, this.#acknowledged) < 0) {
      throw new ZeroEtlError(`oracle acknowledge went backwards: ${checkpoint} is before ${oraclePositionCodec.serialize(this.#acknowledged)}`, { code: "position-regressed" });
    }
    this.#acknowledged = position;
  }

  async currentPosition(): Promise<string> {
    const scn = await this.#withAdmin(async (db) => scnOf((await db.query(CURRENT_SCN_SQL))[0]?.SCN) ?? 0n);
    // the stream mines up to the SCN before the current one (which may still gain redo)
    return oraclePositionCodec.serialize({ committed: scn > 0n ? scn - 1n : 0n });
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    if (admin !== undefined) await (await admin.catch(() => undefined))?.close().catch(() => undefined);
  }
}
