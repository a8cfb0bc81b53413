import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Row, SnapshotChunk, SnapshotCopyPredicate, SnapshotSession, TableRef, Value } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { formatLsn, parseLsn } from "./lsn.js";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import type { PgValueDecoder } from "./pg-value-decoder.js";
import { RAW_TEXT_TYPES, connectPostgres, quoteIdent } from "./postgres-connection.js";
import type { PostgresTableInfo } from "./postgres-introspector.js";
import { tryEnsureDdlCapture } from "./postgres-ddl-capture.js";
import { ensurePublication, readPublicationPlan, type SkippedTable } from "./postgres-publication.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";
import { SnapshotReaderPool, copyColumnsOf, copyOfTable, readCopyCatalog, type CopyCatalog } from "./postgres-snapshot-copy.js";

/** Options of {@link startPostgresSnapshot}. */
export interface PostgresSnapshotOptions {
  readonly config: PostgresSourceConfig;
  readonly types: PgTypeCatalog;
  /** Only these tables (all selected when absent). */
  readonly tables?: readonly TableRef[];
  /** Re-read tables without touching the slot (`SnapshotOptions.resync`): `position` is then the current WAL LSN. */
  readonly resync?: boolean;
  /** Which tables to deliver as binary COPY streams (`SnapshotOptions.copy`); none when absent. */
  readonly copy?: SnapshotCopyPredicate;
  readonly signal?: AbortSignal;
}

/** A started snapshot; `close()` releases its connections early (they close by themselves when `chunks` ends). */
export interface PostgresSnapshotSession extends SnapshotSession {
  /** Selected tables left out of the publication (and so of the snapshot), as {@link planPublication} decided. */
  readonly skipped: readonly SkippedTable[];
  close(): Promise<void>;
}

/**
 * Starts a consistent initial snapshot.
 *
 * Makes sure the publication covers the selected tables (it must exist
 * before the slot so that decoding from the slot's start finds it), drops a
 * leftover slot of the same name in this database (a snapshot interrupted
 * earlier), then creates the slot on a replication connection with
 * `EXPORT_SNAPSHOT` and keeps that connection open while the tables are
 * read. Schemas are read inside the exported snapshot; each table is read on
 * its own connection in a REPEATABLE READ transaction on that snapshot, in
 * text format through the stream's value decoders, by keyset pages over the
 * primary key (`snapshotChunkRows` rows each) or a cursor for keyless tables.
 * `position` is the slot's consistent point: streaming from it delivers
 * exactly the transactions committed after the snapshot.
 *
 * With `resync`, the pipeline's slot is not touched: the snapshot is
 * exported by a temporary slot (see {@link exportResyncSnapshot}), and
 * `position` is its exact consistent point (the runtime replays the stream
 * from its own, older checkpoint afterwards, skipping for the re-read tables
 * what the snapshot holds).
 */
export async function startPostgresSnapshot(options: PostgresSnapshotOptions): Promise<PostgresSnapshotSession> {
  const { config, types } = options;
  const admin = await connectPostgres(config);
  let exporter: pg.Client | undefined;
  let reader: pg.Client | undefined;
  // the connections the snapshot needs next open while the publication and slot checks run: their setup round trips overlap
  const replicationConnecting = options.resync === true ? undefined : connectPostgres(config, { replication: true, applicationName: "zero-etl snapshot" });
  const readerConnecting = connectPostgres(config, { applicationName: "zero-etl snapshot" });
  // observed where they are used, or closed below
  replicationConnecting?.catch(() => undefined);
  readerConnecting.catch(() => undefined);
  let replicationTaken = false;
  let readerTaken = false;
  try {
    // a re-read of some tables must not fail because another listed table was dropped or renamed meanwhile
    const plan = await readPublicationPlan(admin, config, types, { requireListed: options.resync !== true });
    await ensurePublication(admin, config.publication, plan, { partitions: config.partitions, keepViaRoot: options.resync === true });
    // before the slot exists, so that every DDL after its consistent point is captured
    if (options.resync !== true && config.ddlCapture) await tryEnsureDdlCapture(admin, config.logger);
    let position: string;
    let snapshotName: string;
    let exact = true;
    if (options.resync === true) {
      // leave the pipeline's slot alone: a temporary slot gives a snapshot and the exact position it is consistent with
      const exported = await exportResyncSnapshot(config);
      ({ exporter, position, snapshotName, exact } = exported);
    } else {
      if (replicationConnecting === undefined) throw new ZeroEtlError("no replication connection for the snapshot", { code: "internal" });
      replicationTaken = true;
      exporter = await createSlotWithSnapshot(admin, config, replicationConnecting);
      const created = await exporter.query<{ consistent_point: string; snapshot_name: string }>(
        `CREATE_REPLICATION_SLOT ${quoteIdent(config.slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
      );
      const row = created.rows[0];
      if (row === undefined) throw new ZeroEtlError("CREATE_REPLICATION_SLOT returned no row", { code: "source-failed" });
      position = formatLsn(parseLsn(row.consistent_point));
      snapshotName = row.snapshot_name;
    }
    readerTaken = true;
    reader = await readerConnecting;
    await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await reader.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const wanted = options.tables === undefined ? undefined : new Set(options.tables.map(tableKey));
    const infos = (await readPublicationPlan(reader, config, types)).published.filter(
      (t) => wanted === undefined || wanted.has(tableKey(t.schema.table)),
    );
    const copy = options.copy;
    const catalog: CopyCatalog | undefined = copy === undefined ? undefined : await readCopyCatalog(reader, infos);
    await reader.query("COMMIT");
    await reader.end();
    reader = undefined;
    config.logger.info("snapshot started", { slot: config.slot, position, tables: infos.length });
    const held = exporter;
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await held.end().catch(() => {});
    };
    async function* chunks(): AsyncGenerator<SnapshotChunk> {
      let pool: SnapshotReaderPool | undefined;
      try {
        for (const info of infos) {
          // asked when the table's turn comes: the runtime has prepared its target by then
          const columns = catalog === undefined ? undefined : copyColumnsOf(info, catalog);
          if (catalog !== undefined && columns !== undefined && columns.length > 0 && copy?.(info.schema, columns) === true) {
            pool ??= new SnapshotReaderPool(config, snapshotName, config.snapshotParallelism);
            const out: { -readonly [K in keyof SnapshotChunk]: SnapshotChunk[K] } = {
              table: info.schema.table,
              schema: info.schema,
              rows: [],
              chunk: 0,
              last: true,
              rowsRead: 0,
              copy: copyOfTable(info, columns, catalog, pool),
            };
            if (info.rowsEstimated !== undefined) out.rowsEstimated = info.rowsEstimated;
            config.logger.info("snapshot of a table as binary copy streams", { table: tableKey(info.schema.table), parts: out.copy?.parts.length, parallelism: pool.size });
            yield out;
            continue;
          }
          yield* readTable({ config, info, snapshotName, ...(options.signal === undefined ? {} : { signal: options.signal }) });
        }
      } finally {
        await pool?.close();
        await close();
      }
    }
    return { position, exact, schemas: infos.map((t) => t.schema), chunks: chunks(), close, skipped: plan.skipped };
  } catch (error) {
    await exporter?.end().catch(() => {});
    await reader?.end().catch(() => {});
    throw error;
  } finally {
    // a connection opened ahead and never used (the checks failed first, or a resync's own export) is closed here
    if (!replicationTaken) await replicationConnecting?.then((client) => client.end()).catch(() => {});
    if (!readerTaken) await readerConnecting.then((client) => client.end()).catch(() => {});
    await admin.end().catch(() => {});
  }
}

/** A snapshot exported for a resync, from the connection that holds it. */
interface ResyncExport {
  readonly exporter: pg.Client;
  readonly snapshotName: string;
  readonly position: string;
  /** Whether `position` is the snapshot's exact consistent point (`SnapshotSession.exact`). */
  readonly exact: boolean;
}

/**
 * Exports the snapshot of a resync without touching the pipeline's slot.
 *
 * A TEMPORARY logical slot created with EXPORT_SNAPSHOT gives what the
 * runtime needs to skip exactly what the re-read holds: its consistent point
 * is the LSN such that a transaction whose commit record starts before it is
 * in the exported snapshot and one whose commit record starts at or after it
 * is not — the same LSN a `Begin` message carries as the commit's position
 * (`ChangeEvent.commitPosition`). An LSN read with `pg_current_wal_lsn()`
 * next to `pg_export_snapshot()` cannot promise that: visibility follows the
 * order in which transactions leave the process array, not the WAL order of
 * their commit records. The slot lives as long as the exporting connection
 * (until the rows are read) and is dropped with it, even by a crash.
 *
 * Creating the slot waits for every transaction already running at the
 * source; that wait is bounded by `resyncSnapshotWaitSeconds` (the creation
 * is cancelled). When it runs out, or no replication slot is free, falls
 * back to that ordinary exported snapshot, with `exact: false` (the replay
 * then re-applies what the re-read holds, as before), and says so in the log.
 */
async function exportResyncSnapshot(config: PostgresSourceConfig): Promise<ResyncExport> {
  const exporter = await connectPostgres(config, { replication: true, applicationName: "zero-etl resync" });
  const waitSeconds = config.resyncSnapshotWaitSeconds;
  let waitedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    // unique in the cluster: temporary slots of concurrent resyncs must not collide
    const slot = `${config.slot.slice(0, 40)}_resync_${randomBytes(6).toString("hex")}`;
    // the slot is consistent only once every transaction running now has ended: bound that wait
    const pid = (await exporter.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
    timer = setTimeout(() => {
      waitedOut = true;
      if (pid !== undefined) void cancelBackend(config, pid);
    }, waitSeconds * 1000);
    const created = await exporter.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    clearTimeout(timer);
    const row = created.rows[0];
    if (row === undefined) throw new ZeroEtlError("CREATE_REPLICATION_SLOT returned no row", { code: "source-failed" });
    return { exporter, snapshotName: row.snapshot_name, position: formatLsn(parseLsn(row.consistent_point)), exact: true };
  } catch (error) {
    clearTimeout(timer);
    // a cancelled creation leaves no slot: a temporary slot goes with its failed command and its connection
    await exporter.end().catch(() => {});
    const code = (error as { code?: string }).code;
    // 57014: cancelled by the bound above
    if (waitedOut && code === "57014") {
      config.logger.warn(`the exact resync snapshot waited ${waitSeconds} s for transactions running at the source; taking an ordinary snapshot, the replay will re-apply changes the re-read holds`, {
        resyncSnapshotWaitSeconds: waitSeconds,
      });
    } else {
      // 53400: all replication slots are in use
      if (code !== "53400") throw error;
      config.logger.warn("no replication slot free for an exact resync snapshot; the replay will re-apply changes the re-read holds", { error: (error as Error).message });
    }
  }
  const fallback = await connectPostgres(config, { applicationName: "zero-etl resync" });
  try {
    await fallback.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const exported = await fallback.query<{ name: string; lsn: string }>("SELECT pg_export_snapshot() AS name, pg_current_wal_lsn()::text AS lsn");
    const row = exported.rows[0];
    if (row === undefined) throw new ZeroEtlError("pg_export_snapshot returned no row", { code: "source-failed" });
    return { exporter: fallback, snapshotName: row.name, position: formatLsn(parseLsn(row.lsn)), exact: false };
  } catch (error) {
    await fallback.end().catch(() => {});
    throw error;
  }
}

/** Cancels the statement a backend of ours runs (`pg_cancel_backend`, allowed on one's own role's backends); failures are left to the caller's wait. */
async function cancelBackend(config: PostgresSourceConfig, pid: number): Promise<void> {
  let client: pg.Client | undefined;
  try {
    client = await connectPostgres(config, { applicationName: "zero-etl resync" });
    await client.query("SELECT pg_cancel_backend($1)", [pid]);
  } catch (error) {
    config.logger.warn("could not cancel the resync snapshot's wait", { error: (error as Error).message });
  } finally {
    await client?.end().catch(() => {});
  }
}

/** Drops a leftover slot of ours (not one in use, not one of another database) and opens the replication connection that creates the new one. */
async function createSlotWithSnapshot(admin: pg.Client, config: PostgresSourceConfig, connecting: Promise<pg.Client>): Promise<pg.Client> {
  try {
    await checkLeftoverSlot(admin, config);
  } catch (error) {
    await connecting.then((client) => client.end()).catch(() => {});
    throw error;
  }
  return connecting;
}

/** Refuses a slot of the pipeline's name in another database or in use; drops a leftover one of this database. */
async function checkLeftoverSlot(admin: pg.Client, config: PostgresSourceConfig): Promise<void> {
  const existing = await admin.query<{ database: string | null; active_pid: number | null }>(
    "SELECT database::text AS database, active_pid FROM pg_replication_slots WHERE slot_name = $1",
    [config.slot],
  );
  const slot = existing.rows[0];
  if (slot !== undefined) {
    const here = await admin.query<{ db: string }>("SELECT current_database()::text AS db");
    if (slot.database !== here.rows[0]?.db) {
      throw new ZeroEtlError(`replication slot ${config.slot} belongs to another database (${slot.database ?? "physical"}); choose another slot name`, {
        code: "config-invalid",
      });
    }
    if (slot.active_pid !== null) {
      throw new ZeroEtlError(`replication slot ${config.slot} is in use by process ${slot.active_pid}; stop the other consumer first`, {
        code: "source-failed",
        retryable: true,
      });
    }
    config.logger.warn("dropping leftover replication slot before a new snapshot", { slot: config.slot });
    await admin.query("SELECT pg_drop_replication_slot($1)", [config.slot]);
  }
}

interface ReadTableOptions {
  readonly config: PostgresSourceConfig;
  readonly info: PostgresTableInfo;
  readonly snapshotName: string;
  readonly signal?: AbortSignal;
}

async function* readTable(options: ReadTableOptions): AsyncGenerator<SnapshotChunk> {
  const { config, info, snapshotName } = options;
  const schema = info.schema;
  const table = schema.table;
  const limit = config.snapshotChunkRows;
  const client = await connectPostgres(config, { applicationName: "zero-etl snapshot" });
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    const from = `${quoteIdent(table.namespace)}.${quoteIdent(table.name)}`;
    // stored generated columns are read too for a target that cannot compute them (they are stored, so this is a plain read)
    const read = config.computeGenerated && info.generated.length > 0 ? [...info.columns, ...info.generated] : info.columns;
    const list = read.length === 0 ? "NULL" : read.map((c) => quoteIdent(c.name)).join(", ");
    const decoders = read.map((c) => c.decode);
    const names = read.map((c) => c.name);
    const pk = schema.primaryKey.map((name) => {
      const index = names.indexOf(name);
      const column = read[index];
      if (column === undefined) throw new ZeroEtlError(`primary-key column ${name} of ${tableKey(table)} not found`, { code: "internal", table: tableKey(table) });
      return { index, sql: quoteIdent(name), cast: column.sqlType };
    });
    const order = pk.map((k) => k.sql).join(", ");
    let rowsRead = 0;
    let chunk = 0;
    let after: string[] | undefined;
    // one row beyond the page tells whether this page is the last; a cursor keeps it for the next page
    let carry: (string | null)[] | undefined;
    if (pk.length === 0) await client.query(`DECLARE zetl_snapshot NO SCROLL CURSOR FOR SELECT ${list} FROM ${from}`);
    for (;;) {
      if (options.signal?.aborted === true) throw new ZeroEtlError("snapshot aborted", { code: "aborted", table: tableKey(table) });
      let raw: (string | null)[][];
      if (pk.length === 0) {
        const fetched = await client.query<(string | null)[]>({
          text: `FETCH FORWARD ${carry === undefined ? limit + 1 : limit} FROM zetl_snapshot`,
          rowMode: "array",
          types: RAW_TEXT_TYPES,
        });
        raw = carry === undefined ? fetched.rows : [carry, ...fetched.rows];
      } else if (after === undefined) {
        raw = (await client.query<(string | null)[]>({ text: `SELECT ${list} FROM ${from} ORDER BY ${order} LIMIT ${limit + 1}`, rowMode: "array", types: RAW_TEXT_TYPES })).rows;
      } else {
        const params = pk.map((k, i) => `$${i + 1}::${k.cast}`).join(", ");
        raw = (
          await client.query<(string | null)[]>({
            text: `SELECT ${list} FROM ${from} WHERE (${order}) > (${params}) ORDER BY ${order} LIMIT ${limit + 1}`,
            values: after,
            rowMode: "array",
            types: RAW_TEXT_TYPES,
          })
        ).rows;
      }
      const last = raw.length <= limit;
      carry = last ? undefined : raw[limit];
      const count = last ? raw.length : limit;
      const rows: Row[] = new Array<Row>(count);
      for (let r = 0; r < count; r++) {
        const values = raw[r] as (string | null)[];
        const row: Record<string, Value> = {};
        for (let i = 0; i < names.length; i++) {
          const text = values[i];
          row[names[i] as string] = text === null || text === undefined ? null : (decoders[i] as PgValueDecoder)(text);
        }
        rows[r] = row;
      }
      rowsRead += count;
      const lastRaw = raw[count - 1];
      if (lastRaw !== undefined) after = pk.map((k) => lastRaw[k.index] as string);
      const out: { -readonly [K in keyof SnapshotChunk]: SnapshotChunk[K] } = { table, schema, rows, chunk, last, rowsRead };
      if (info.rowsEstimated !== undefined) out.rowsEstimated = Math.max(info.rowsEstimated, rowsRead);
      yield out;
      chunk++;
      if (last) break;
    }
    await client.query("COMMIT");
  } finally {
    await client.end().catch(() => {});
  }
}
