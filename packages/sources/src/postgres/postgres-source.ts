import type pg from "pg";
import type {
  ChangeBatch,
  ChangeEvent,
  Logger,
  PreflightOptions,
  PreflightReport,
  SnapshotOptions,
  SnapshotSession,
  Source,
  SourceCapabilities,
  StreamOptions,
  TableChange,
  TableRef,
  TableSchema,
} from "@zero-etl/core";
import { ZeroEtlError, isTransientError, tableKey } from "@zero-etl/core";
import { formatLsn, lsnCodec, parseLsn } from "./lsn.js";
import { DDL_MESSAGE_PREFIX, tryEnsureDdlCapture } from "./postgres-ddl-capture.js";
import { interpretDdlMessage, parseDdlMessage } from "./postgres-ddl-interpreter.js";
import { PgTypeCatalog } from "./pg-type-catalog.js";
import { connectPostgres, connectionError, describeServer } from "./postgres-connection.js";
import { introspectPostgres } from "./postgres-introspector.js";
import { preflightPostgres } from "./postgres-preflight.js";
import { createPartitionRelationCheck, ensurePublication, readPublicationPlan, type SkippedTable } from "./postgres-publication.js";
import { startPostgresSnapshot, type PostgresSnapshotSession } from "./postgres-snapshot.js";
import { MARKER_MESSAGE_PREFIX, PostgresIncrementalReader } from "./postgres-incremental-reader.js";
import { resolvePostgresSourceConfig, type PostgresSourceConfig, type PostgresSourceOptions } from "./postgres-source-config.js";
import { PgoutputChangeBuilder } from "./pgoutput-change-builder.js";
import { RelationChangeDetector } from "./pg-relation-change-detector.js";
import { PublicationGuard } from "./postgres-publication-guard.js";
import { createGeneratedColumnEvaluator } from "./postgres-generated-evaluator.js";
import { createUnchangedFetcher } from "./postgres-unchanged-fetcher.js";
import { ReplicationStream } from "./replication-stream.js";

/** Events per batch before a batch is cut (at a transaction boundary when possible). */
const BATCH_EVENTS = 5_000;

const CAPABILITIES: SourceCapabilities = Object.freeze({
  beforeImage: "configurable",
  transactions: true,
  schemaChanges: true,
  truncate: true,
});

/**
 * The PostgreSQL logical-replication source (pgoutput, protocol 1).
 *
 * `snapshot()` creates the slot with an exported snapshot and reads the
 * selected tables consistently with it; `stream(from)` replays the slot from
 * an LSN as batches of whole transactions (about 5 000 events; a larger
 * transaction is split and its partial batches repeat the previous
 * checkpoint); `acknowledge(lsn)` moves the slot's `confirmed_flush_lsn` to
 * exactly that LSN. Positions are LSN strings like `0/16B3748`.
 */
export function createPostgresSource(options: PostgresSourceOptions): Source {
  const config = resolvePostgresSourceConfig(options);
  return new PostgresSource(config);
}

class PostgresSource implements Source {
  readonly kind = "postgres";
  readonly capabilities = CAPABILITIES;
  readonly positions = lsnCodec;
  private readonly types = new PgTypeCatalog();
  private readonly snapshots = new Set<PostgresSnapshotSession>();
  private active: ReplicationStream | undefined;
  private pendingAck: bigint | undefined;
  private readonly warned = new Set<string>();
  /** Incremental snapshots: markers through logical decoding messages, chunks by keyset reads. */
  readonly incremental: PostgresIncrementalReader;

  constructor(private readonly config: PostgresSourceConfig) {
    this.incremental = new PostgresIncrementalReader(config, this.types);
  }

  async introspect(signal?: AbortSignal): Promise<readonly TableSchema[]> {
    signal?.throwIfAborted();
    return this.withClient(async (client) => {
      const plan = await readPublicationPlan(client, this.config, this.types);
      this.warnSkipped(plan.skipped);
      return plan.published.map((t) => t.schema);
    });
  }

  async preflight(options: PreflightOptions): Promise<PreflightReport> {
    return this.withClient((client) =>
      preflightPostgres(client, { config: this.config, types: this.types, fix: options.fix, ...(options.dropSlots === undefined ? {} : { dropSlots: options.dropSlots }) }),
    );
  }

  async snapshot(options: SnapshotOptions): Promise<SnapshotSession> {
    const session = await startPostgresSnapshot({
      config: this.config,
      types: this.types,
      ...(options.tables === undefined ? {} : { tables: options.tables }),
      ...(options.resync === true ? { resync: true } : {}),
      // a resync keeps to rows: its target table is not fresh while the stream replays beside it
      ...(options.copy === undefined || options.resync === true ? {} : { copy: options.copy }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    this.snapshots.add(session);
    this.warnSkipped(session.skipped);
    return session;
  }

  stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch> {
    const start = parseLsn(from);
    return this.run(start, options.signal);
  }

  async acknowledge(checkpoint: string): Promise<void> {
    const lsn = parseLsn(checkpoint);
    if (this.active !== undefined) this.active.acknowledge(lsn);
    else if (this.pendingAck === undefined || lsn > this.pendingAck) this.pendingAck = lsn;
  }

  async currentPosition(): Promise<string> {
    return this.withClient(async (client) => {
      const result = await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
      return formatLsn(parseLsn(result.rows[0]?.lsn ?? "0/0"));
    });
  }

  async close(): Promise<void> {
    await this.active?.close();
    await this.incremental.close();
    await Promise.all([...this.snapshots].map((s) => s.close()));
    this.snapshots.clear();
  }

  /** Says loudly, once per table and reason, which selected tables are not replicated and why. */
  private warnSkipped(skipped: readonly SkippedTable[]): void {
    for (const s of skipped) {
      const table = tableKey(s.info.schema.table);
      if (this.warned.has(`${table}\u0000${s.reason}`)) continue;
      this.warned.add(`${table}\u0000${s.reason}`);
      this.config.logger.warn(`table not replicated: ${s.message}`, { table, reason: s.reason });
    }
  }

  private async withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await connectPostgres(this.config);
    try {
      return await work(client);
    } catch (error) {
      if (error instanceof ZeroEtlError) throw error;
      // a restart or a dropped connection under the query: the caller's retry policy decides
      if (isTransientError(error)) throw connectionError(this.config.url, error, "source", "use");
      throw new ZeroEtlError(`postgres source query failed: ${(error as Error).message}`, { code: "source-failed", cause: error });
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async *run(start: bigint, signal: AbortSignal | undefined): AsyncGenerator<ChangeBatch> {
    try {
      yield* this.runStream(start, signal);
    } catch (error) {
      // whatever failed (setup queries, the stream, a catalog lookup), say what it means for the pipeline
      throw streamError(error, this.config);
    }
  }

  private async *runStream(start: bigint, signal: AbortSignal | undefined): AsyncGenerator<ChangeBatch> {
    const config = this.config;
    const began = performance.now();
    const step = (name: string): void => config.logger.debug("stream start step", { step: name, ms: Math.round(performance.now() - began) });
    // the replication connection opens while the checks below run: its setup round trips overlap theirs
    const connecting = connectPostgres(config, { replication: true, applicationName: `zero-etl ${config.pipeline}` });
    // observed where it is used, or closed in the finally below
    connecting.catch(() => undefined);
    let admin: pg.Client;
    try {
      admin = await connectPostgres(config);
    } catch (error) {
      await connecting.then((client) => client.end()).catch(() => {});
      throw error;
    }
    step("connected");
    let stream: ReplicationStream | undefined;
    try {
      await checkSlot(admin, config);
      step("slot checked");
      const plan = await readPublicationPlan(admin, config, this.types);
      // tables fixed since the last run join the publication; left-out ones leave it (never break the source)
      const changed = await ensurePublication(admin, config.publication, plan, { partitions: config.partitions });
      if (changed.statements.length > 0) config.logger.info("publication updated", { publication: config.publication, statements: changed.statements });
      this.warnSkipped(plan.skipped);
      step("publication read and checked");
      // the removed tables were replicated until now: the runtime must stop calling them synced
      const reasons = new Map(plan.skipped.map((s) => [tableKey(s.info.schema.table), s.message]));
      const startChanges: TableChange[] = changed.removed.map((table) => ({
        kind: "dropped",
        table,
        position: formatLsn(start),
        reason: `left out of the publication: ${reasons.get(tableKey(table)) ?? "not publishable"}`,
      }));
      if (changed.viaRootSwitched) {
        // until now their changes went out under other relations (partitions, or the root): read them again
        const switchedAt = await admin.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
        const at = formatLsn(parseLsn(switchedAt.rows[0]?.lsn ?? "0/0"));
        for (const info of plan.published) {
          if (config.partitions === "root" ? info.kind !== "p" : !info.partition) continue;
          startChanges.push({ kind: "refresh", table: info.schema.table, position: at, reason: `publish_via_partition_root switched for partitions "${config.partitions}"` });
        }
      }
      // already at the end of the WAL (e.g. right after a snapshot): say so at once, since an idle
      // server may send nothing for a long time and `--until-caught-up` waits for a batch
      const flushed = await admin.query<{ lsn: string }>("SELECT pg_current_wal_flush_lsn()::text AS lsn");
      const atEnd = start >= parseLsn(flushed.rows[0]?.lsn ?? "0/0");
      const capture = config.ddlCapture && (await tryEnsureDdlCapture(admin, config.logger));
      // the runtime's markers (incremental snapshot watermarks, signals) come as logical decoding messages (PostgreSQL 14+)
      const version = await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
      const messages = capture || Number(version.rows[0]?.v ?? "0") >= 140000;
      const skipped = new Set(plan.skipped.map((s) => tableKey(s.info.schema.table)));
      const guard = new PublicationGuard({ client: admin, config, types: this.types, published: plan.published.map((t) => tableKey(t.schema.table)) });
      // what this stream replicates: selected, publishable, and not taken out of the publication since
      const replicated = (ref: TableRef): boolean => config.includes(ref) && !skipped.has(tableKey(ref)) && !guard.hasRemoved(tableKey(ref));
      const builder = new PgoutputChangeBuilder({
        includes: replicated,
        tables: plan.published,
        types: this.types,
        resolveTypes: (oids) => this.types.resolve(admin, oids),
        reintrospect: async (oid) => (await introspectPostgres(admin, { includes: () => true, oids: [oid], types: this.types }))[0],
      });
      const detector = capture
        ? undefined
        : new RelationChangeDetector({ tables: plan.published, includes: replicated, columnsWithMissing: (oid, names) => columnsWithMissing(admin, oid, names) });
      const isPartitionRelation = createPartitionRelationCheck(admin, config.partitions);
      // also for tables an incremental snapshot is reading: the target may not hold the row to complete the update from
      const fetchFor = config.fetchUnchangedFor;
      const incremental = this.incremental;
      const fetchUnchanged = createUnchangedFetcher({ client: admin, types: this.types, tables: (ref) => fetchFor?.(ref) === true || incremental.isReading(ref), known: plan.published });
      // stored generated columns for a target that cannot compute them, after the unchanged values they may read
      const evaluateGenerated = config.computeGenerated ? createGeneratedColumnEvaluator({ client: admin, types: this.types, known: plan.published, logger: config.logger }) : undefined;
      // after the introspection above, so that DDL from now on is compared with it
      if (atEnd) yield { events: [], checkpoint: formatLsn(start), caughtUp: true, ...(startChanges.length > 0 ? { tableChanges: startChanges } : {}) };
      else if (startChanges.length > 0) yield { events: [], checkpoint: formatLsn(start), tableChanges: startChanges };
      step("catalog and capture checked");
      const client = await connecting;
      step("replication connected");
      const acknowledged = this.pendingAck !== undefined && this.pendingAck > start ? this.pendingAck : start;
      stream = ReplicationStream.start({
        client,
        slot: config.slot,
        publication: config.publication,
        startLsn: start,
        acknowledged,
        keepaliveTimeoutMs: config.timeouts.keepaliveMs,
        server: `postgres source ${describeServer(config.url)}`,
        messages,
        ...(signal === undefined ? {} : { signal }),
      });
      this.active = stream;
      this.pendingAck = undefined;
      config.logger.info("streaming started", { slot: config.slot, from: formatLsn(start) });

      let events: ChangeEvent[] = [];
      // table changes of the open transaction, emitted with the batch that ends at its commit
      let tableChanges: TableChange[] = [];
      // markers of the open transaction: the batch ends at its commit, with them
      let markers: string[] = [];
      let checkpoint = start;
      let yielded = start;
      let inTransaction = false;
      let beginLsn = 0n;
      let firstTake = true;
      for (;;) {
        const items = await stream.take();
        if (items === null) break;
        if (firstTake) {
          firstTake = false;
          // the server decodes from the slot's restart point: after a big transaction this wait is its re-reading
          step("first message from the server");
        }
        let idleEnd = 0n;
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (item === undefined) continue;
          if (item.kind === "keepalive") {
            if (!inTransaction && item.walEnd > idleEnd) idleEnd = item.walEnd;
            continue;
          }
          const message = item.message;
          switch (message.tag) {
            case "begin":
              inTransaction = true;
              beginLsn = message.finalLsn;
              builder.begin(message.xid, message.commitTime, message.finalLsn);
              break;
            case "commit":
              inTransaction = false;
              builder.commit();
              if (message.endLsn > checkpoint) checkpoint = message.endLsn;
              if (tableChanges.length > 0 || markers.length > 0) {
                // the runtime re-reads or drops these tables before anything later is applied;
                // the commit's position tells it whether an exact re-read already holds a change
                const commitPosition = formatLsn(message.commitLsn);
                const committed = tableChanges.map((change) => (change.commitPosition === undefined ? { ...change, commitPosition } : change));
                await fetchUnchanged?.(events);
                await evaluateGenerated?.(events);
                yield {
                  events,
                  checkpoint: formatLsn(checkpoint),
                  caughtUp: i === items.length - 1,
                  ...(committed.length > 0 ? { tableChanges: committed } : {}),
                  ...(markers.length > 0 ? { markers: markers.map((content) => ({ content, position: commitPosition })) } : {}),
                };
                yielded = checkpoint;
                events = [];
                tableChanges = [];
                markers = [];
              } else if (events.length >= BATCH_EVENTS) {
                await fetchUnchanged?.(events);
          await evaluateGenerated?.(events);
                yield { events, checkpoint: formatLsn(checkpoint), caughtUp: i === items.length - 1 };
                yielded = checkpoint;
                events = [];
              }
              break;
            case "relation": {
              if (await isPartitionRelation(message.relationOid)) break;
              const at = item.walStart === 0n ? beginLsn : item.walStart;
              if (detector !== undefined) for (const change of await detector.observe(message, formatLsn(at))) noteTableChange(tableChanges, change, config.logger);
              await builder.relation(message, at, events);
              evaluateGenerated?.relationSeen({ namespace: message.namespace, name: message.name });
              break;
            }
            case "insert":
            case "update":
            case "delete":
            case "truncate":
              builder.change(message, item.walStart, events);
              if (inTransaction && events.length >= BATCH_EVENTS) {
                await fetchUnchanged?.(events);
          await evaluateGenerated?.(events);
                yield { events, checkpoint: formatLsn(checkpoint) };
                yielded = checkpoint;
                events = [];
              }
              break;
            case "message":
              if (message.prefix === MARKER_MESSAGE_PREFIX && message.transactional && inTransaction) {
                markers.push(Buffer.from(message.content).toString("utf8"));
                break;
              }
              // (DDL messages only when this stream captures DDL: messages may be on for markers alone)
              if (capture && message.prefix === DDL_MESSAGE_PREFIX && message.transactional && inTransaction) {
                const ddl = parseDdlMessage(message.content);
                for (const interpreted of interpretDdlMessage(ddl, formatLsn(message.lsn), replicated)) {
                  let change: TableChange;
                  if (interpreted.kind === "columns-renamed") {
                    if (builder.renameColumns(interpreted.table, interpreted.renamed, message.lsn, events)) {
                      config.logger.info("columns renamed at source", { table: `${interpreted.table.namespace}.${interpreted.table.name}`, renamed: interpreted.renamed });
                      continue;
                    }
                    // the stream's schema cannot say which columns these are: read the table again
                    change = { kind: "refresh", table: interpreted.table, position: interpreted.position, reason: `columns renamed (${Object.entries(interpreted.renamed).map(([to, from]) => `${from} to ${to}`).join(", ")}) on a table whose columns the stream does not know yet` };
                  } else change = interpreted;
                  // any role may call pg_logical_emit_message: a "gone" for a table that is still there is not believed
                  // (nor is a move away that was undone since: the move back re-reads the table)
                  if (change.kind === "dropped" && (await isStillThere(admin, ddl.oid, change.table))) {
                    config.logger.warn("ignoring a zeroetl DDL message that says a table is gone while it is still there", { table: `${change.table.namespace}.${change.table.name}` });
                    continue;
                  }
                  noteTableChange(tableChanges, change, config.logger);
                  builder.forget(change.table);
                  evaluateGenerated?.forget(change.table);
                }
              }
              break;
            default:
              break;
          }
        }
        if (inTransaction) continue;
        const left = await guard.check(checkpoint);
        if (left.length > 0) {
          await fetchUnchanged?.(events);
          await evaluateGenerated?.(events);
          yield { events, checkpoint: formatLsn(checkpoint), caughtUp: true, tableChanges: left };
          yielded = checkpoint;
          events = [];
          continue;
        }
        if (events.length > 0 || checkpoint > yielded) {
          await fetchUnchanged?.(events);
          await evaluateGenerated?.(events);
          yield { events, checkpoint: formatLsn(checkpoint), caughtUp: true };
          yielded = checkpoint;
          events = [];
        } else if (idleEnd > checkpoint) {
          checkpoint = idleEnd;
          yield { events: [], checkpoint: formatLsn(checkpoint), caughtUp: true };
          yielded = checkpoint;
        }
      }
    } finally {
      if (stream !== undefined) {
        if (this.active === stream) this.active = undefined;
        await stream.close();
      } else {
        // the checks failed or the consumer stopped early: the replication connection never reached a stream
        await connecting.then((client) => client.end()).catch(() => {});
      }
      await admin.end().catch(() => {});
    }
  }
}

/**
 * Adds a table change of the open transaction: a later change of the same
 * table supersedes an earlier refresh (re-read once, after the last DDL), and
 * a refresh after a drop stays (drop, then re-read the new table).
 */
function noteTableChange(list: TableChange[], change: TableChange, logger: Logger): void {
  logger.info(change.kind === "dropped" ? "table dropped at source" : "table to be re-read", {
    table: `${change.table.namespace}.${change.table.name}`,
    position: change.position,
    reason: change.reason,
  });
  const same = (c: TableChange) => c.kind === "refresh" && c.table.namespace === change.table.namespace && c.table.name === change.table.name;
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i];
    if (item !== undefined && same(item)) list.splice(i, 1);
  }
  list.push(change);
}

/** Whether relation `oid` still exists under the name `table` (parameterized). */
async function isStillThere(client: pg.Client, oid: number, table: { namespace: string; name: string }): Promise<boolean> {
  const result = await client.query<{ there: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1 AND n.nspname = $2 AND c.relname = $3) AS there",
    [oid, table.namespace, table.name],
  );
  return result.rows[0]?.there === true;
}

/** Of `names`, the columns of relation `oid` whose existing rows read a non-null default (parameterized). */
async function columnsWithMissing(client: pg.Client, oid: number, names: readonly string[]): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    // a partitioned root has no storage: its partitions hold the default the existing rows take
    // (pg_partition_tree lists nothing for an ordinary table, hence the table itself too)
    `SELECT DISTINCT a.attname::text AS name FROM pg_attribute a
      WHERE (a.attrelid = $1 OR a.attrelid IN (SELECT relid FROM pg_partition_tree($1::oid)))
        AND a.attname = ANY($2::text[]) AND a.atthasmissing AND NOT a.attisdropped`,
    [oid, [...names]],
  );
  return result.rows.map((r) => r.name);
}

/** Fails with `position-lost` when the slot is gone or invalidated; waits up to 5 s for a previous consumer to let go of it. */
async function checkSlot(client: pg.Client, config: PostgresSourceConfig): Promise<void> {
  let slot: { wal_status: string | null; database: string | null; here: string; active_pid: number | null } | undefined;
  for (let attempt = 0; ; attempt++) {
    const result = await client.query<{ wal_status: string | null; database: string | null; here: string; active_pid: number | null }>(
      "SELECT wal_status, database::text AS database, current_database()::text AS here, active_pid FROM pg_replication_slots WHERE slot_name = $1",
      [config.slot],
    );
    slot = result.rows[0];
    if (slot?.active_pid === null || slot?.active_pid === undefined) break;
    if (attempt >= 25) {
      throw new ZeroEtlError(`replication slot ${config.slot} is in use by process ${slot.active_pid}`, { code: "source-failed", retryable: true });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (slot === undefined) {
    throw new ZeroEtlError(
      `replication slot ${config.slot} does not exist, so the changes after the checkpoint are gone; run a new snapshot (which creates the slot)`,
      { code: "position-lost" },
    );
  }
  if (slot.wal_status === "lost") {
    throw new ZeroEtlError(
      `replication slot ${config.slot} was invalidated (wal_status = lost): the server removed WAL it still needed (max_slot_wal_keep_size), so the changes after the checkpoint are gone; run a new snapshot (onLostPosition "resnapshot" drops and recreates the slot and copies every table again)`,
      { code: "position-lost" },
    );
  }
  if (slot.database !== slot.here) {
    throw new ZeroEtlError(`replication slot ${config.slot} belongs to database ${slot.database ?? "(physical)"}, not ${slot.here}`, { code: "config-invalid" });
  }
}

function streamError(error: unknown, config: PostgresSourceConfig): unknown {
  if (error instanceof ZeroEtlError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "42704" && message.includes("replication slot")) {
    return new ZeroEtlError(`replication slot ${config.slot} does not exist; run a new snapshot (which creates the slot)`, { code: "position-lost", cause: error });
  }
  if (code === "55000" && /invalidated|can no longer get changes/.test(message)) {
    return new ZeroEtlError(`replication slot ${config.slot} was invalidated (${message}); drop it and run a new snapshot`, { code: "position-lost", cause: error });
  }
  if (code === "55006") {
    return new ZeroEtlError(`replication slot ${config.slot} is in use by another connection`, { code: "source-failed", retryable: true, cause: error });
  }
  if (code === "42704" && message.includes("publication")) {
    return new ZeroEtlError(`publication ${config.publication} does not exist; run preflight with fix or create it`, { code: "source-failed", cause: error });
  }
  if (isTransientError(error)) return connectionError(config.url, error, "source", "use");
  // not a server error and not a lost connection (a decoding failure, a bug): passed on as it is, never retried
  if (code === undefined) return error;
  return new ZeroEtlError(`postgres source ${describeServer(config.url)}: replication failed: ${message}`, { code: "source-failed", cause: error });
}
