import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { TableChange } from "../change/table-change.js";
import type { CheckpointStore, PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableStatus } from "../state/table-state.js";
import type { DeadLetterQueue } from "../dlq/dead-letter-queue.js";
import { toDeadLetter } from "../dlq/dead-letter-queue.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import { composeMappers } from "../mapper/compose-mappers.js";
import type { Mapper, MapperContext } from "../mapper/mapper.js";
import type { Logger } from "../observability/logger.js";
import { silentLogger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import { createPipelineMetrics } from "../observability/metrics.js";
import type { TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import { estimateRowBytes } from "../schema/value.js";
import type { Sink, WriteReceipt } from "../sink/sink.js";
import type { Source } from "../source/source.js";
import type { BatchPolicy } from "./batch-policy.js";
import { DEFAULT_BATCH_POLICY } from "./batch-policy.js";
import { isTransientError } from "./error-classification.js";
import type { BackOff, RetryPolicy } from "./retry.js";
import { DEFAULT_RETRY_POLICY, createBackOff, sleep, withRetry } from "./retry.js";
import { TableTracker } from "./table-tracker.js";

/** Everything a pipeline run needs. */
export interface PipelineOptions {
  /** Names the pipeline; checkpoints, state tables and slots are keyed by it. */
  readonly name: string;
  readonly source: Source;
  readonly sink: Sink;
  /** Applied in order between source and sink. */
  readonly mappers?: readonly Mapper[];
  /** Where checkpoints live. With a sink that keeps checkpoints in the target, the target's record wins on start. */
  readonly checkpoints: CheckpointStore;
  /** Where rejected records go; without one they are logged and counted only. */
  readonly deadLetters?: DeadLetterQueue;
  readonly batch?: Partial<BatchPolicy>;
  /**
   * How long transient failures of either side are retried: every call to
   * the sink, and the source's stream, which is reopened from the last
   * durable checkpoint after it failed. Default {@link DEFAULT_RETRY_POLICY}.
   */
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  readonly metrics?: PipelineMetrics;
  /**
   * Stop once the target holds everything the source had committed when the
   * run started (snapshot first if needed), instead of streaming until aborted.
   */
  readonly untilCaughtUp?: boolean;
  /** Aborting stops the run gracefully: pending changes are flushed and checkpointed first. */
  readonly signal?: AbortSignal;
  /**
   * What to do when the source no longer has the checkpoint's position (an
   * invalidated slot, a purged binlog, a stream position past retention):
   * `fail` (default) stops with an error that says what happened;
   * `resnapshot` snapshots every table again and streams from there.
   * Changes are never skipped silently.
   */
  readonly onLostPosition?: "fail" | "resnapshot";
  /**
   * Resync a table as soon as it becomes `resync-required` (e.g. after a
   * schema change the target refused), instead of waiting for
   * `markForResync`. Default false: a person decides.
   */
  readonly autoResync?: boolean;
}

/** What a finished run did. */
export interface PipelineResult {
  readonly checkpoint: PipelineCheckpoint;
  readonly snapshotted: boolean;
  /** Row events and snapshot rows applied in this run, by source table. */
  readonly rows: Readonly<Record<string, number>>;
  readonly deadLetters: number;
}

/**
 * Runs a pipeline: snapshot when there is no usable checkpoint, then stream.
 *
 * Durability order, always: `sink.flush(checkpoint)` (data, and the
 * checkpoint when the sink keeps it) → `checkpoints.save` →
 * `source.acknowledge`. A crash between any two steps replays from the
 * previous checkpoint, which sinks absorb because they apply idempotently.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  return new PipelineRun(options).run();
}

class PipelineRun {
  readonly #o: PipelineOptions;
  readonly #log: Logger;
  readonly #metrics: PipelineMetrics;
  readonly #policy: BatchPolicy;
  readonly #retry: RetryPolicy;
  readonly #mapper: Mapper;
  readonly #context: MapperContext;
  readonly #rowsThisRun: Record<string, number> = {};
  #tracker = new TableTracker();
  /** Source table key -> its primary key, for dead letters. */
  readonly #keys = new Map<string, readonly string[]>();
  /** Source table key -> its schema as last prepared, to find its target tables when it is dropped. */
  readonly #schemas = new Map<string, TableSchema>();
  #deadLetters = 0;
  #pendingRows = 0;
  #pendingBytes = 0;
  #pendingSince = 0;
  #lastCommitTime: number | undefined;
  /** Whether the last batch said the source had nothing newer. */
  #caughtUp = false;
  /** Target table key -> the schema last passed to `sink.prepare`. */
  readonly #prepared = new Map<string, TableSchema>();
  /** The last checkpoint made durable in this run. */
  #durable: PipelineCheckpoint | undefined;
  /** A table became resync-required and `autoResync` is on: stream until the next checkpoint, then resync. */
  #resyncDue = false;
  /** The newest batch checkpoint the current stream delivered (applied, maybe not yet durable). */
  #latest: string | undefined;
  /** Back-off of the source's stream while it keeps failing; reset by the first batch after a reconnect. */
  #sourceOutage: { readonly backOff: BackOff; attempts: number; readonly since: number } | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#log = (options.logger ?? silentLogger).child({ pipeline: options.name });
    this.#metrics = options.metrics ?? createPipelineMetrics();
    this.#policy = { ...DEFAULT_BATCH_POLICY, ...options.sink.capabilities.defaultBatch, ...options.batch };
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#mapper = composeMappers(options.mappers ?? []);
    const sink = options.sink;
    this.#context = sink.targetSchema === undefined ? { sink: sink.capabilities } : { sink: sink.capabilities, targetSchema: (table) => sink.targetSchema?.(table) };
  }

  async run(): Promise<PipelineResult> {
    const { source, sink, name, signal } = this.#o;
    const target = this.#o.untilCaughtUp ? await this.#retrying("read source position", () => source.currentPosition()) : undefined;
    // one writer per pipeline: refuse before anything is written or snapshotted (reading the position above changes nothing)
    const lock = sink.lock?.bind(sink);
    if (lock !== undefined) await this.#retrying("lock target", () => lock(signal === undefined ? { pipeline: name } : { pipeline: name, signal }));
    const stored = await this.#retrying("open sink", () => sink.open(signal === undefined ? { pipeline: name } : { pipeline: name, signal }));
    let checkpoint = sink.capabilities.checkpointsInTarget ? stored : await this.#o.checkpoints.load(name);
    let snapshotted = false;
    if (checkpoint?.phase !== "streaming" || checkpoint.position === undefined) {
      checkpoint = await this.#snapshotRidingOutages();
      snapshotted = true;
    } else {
      this.#tracker = new TableTracker(checkpoint.tables);
      this.#log.info("resuming", { position: checkpoint.position });
      if (await this.#prepareTables()) {
        // tables left the selection: persist that, so selecting them again re-reads them
        checkpoint = Object.freeze({ ...checkpoint, tables: this.#tracker.snapshot(), savedAt: new Date().toISOString() });
        await this.#flush(checkpoint, false);
      }
      checkpoint = await this.#resync(checkpoint);
    }
    if (!(target !== undefined && checkpoint.position !== undefined && this.#reached(checkpoint.position, target)) && !signal?.aborted) {
      try {
        checkpoint = await this.#stream(checkpoint, target);
      } catch (error) {
        if (!(error instanceof ZeroEtlError && error.code === "position-lost") || this.#o.onLostPosition !== "resnapshot") throw error;
        this.#log.warn("source position lost, snapshotting again as configured", { position: checkpoint.position, error: error.message });
        checkpoint = await this.#snapshotRidingOutages();
        snapshotted = true;
        const position = checkpoint.position;
        if (!(target !== undefined && position !== undefined && this.#reached(position, target))) checkpoint = await this.#stream(checkpoint, target);
      }
    }
    return { checkpoint, snapshotted, rows: { ...this.#rowsThisRun }, deadLetters: this.#deadLetters };
  }

  /**
   * On resume: prepares the selected tables, and reconciles them with the
   * checkpoint's. A table the checkpoint does not know (added to the filter,
   * or created while the pipeline was stopped) or that it knows as dropped
   * is snapshotted by the resync that follows; one that is no longer
   * selected is forgotten, so selecting it again later snapshots it anew
   * instead of merging stale rows with its present ones.
   */
  async #prepareTables(): Promise<boolean> {
    const schemas = await this.#retrying("introspect source", () => this.#o.source.introspect(this.#o.signal));
    const selected = new Set<string>();
    for (const schema of schemas) {
      const key = tableKey(schema.table);
      selected.add(key);
      const state = this.#tracker.state(key);
      if (state === undefined || state === "dropped-at-source") {
        const reason = state === undefined ? "newly selected" : "back at the source";
        this.#tracker.requestRefresh(key, reason);
        this.#keys.set(key, schema.primaryKey);
        this.#schemas.set(key, schema);
        this.#log.info("table will be snapshotted", { table: key, reason });
        continue;
      }
      await this.#prepare(schema);
    }
    let forgot = false;
    for (const key of this.#tracker.tables()) {
      if (selected.has(key) || this.#tracker.state(key) === "dropped-at-source") continue;
      this.#tracker.forget(key);
      forgot = true;
      this.#log.info("table no longer selected; its target table is left as it is", { table: key });
    }
    return forgot;
  }

  /**
   * Creates or evolves the target tables of a source table. When the sink
   * refuses (a schema change it cannot take), the table is set aside as
   * `resync-required` and the others go on; its changes are skipped until a
   * resync.
   */
  async #prepare(schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<readonly TableSchema[]> {
    const key = tableKey(schema.table);
    this.#keys.set(key, schema.primaryKey);
    this.#schemas.set(key, schema);
    const mapped = this.#mapper.mapSchema(schema, this.#context);
    try {
      for (const target of mapped) await this.#prepareTarget(target, renamesFor(target, renamed));
    } catch (error) {
      if (!(error instanceof ZeroEtlError) || error.retryable || error.code === "aborted" || error.code === "connection-failed") throw error;
      this.#tracker.setState(key, "resync-required", error.message);
      this.#metrics.emit({ type: "table-state", table: key, state: "resync-required", reason: error.message });
      this.#metrics.emit({ type: "error", code: error.code, retryable: false, table: key });
      this.#log.error("schema change refused by the target; table set aside until a resync", { table: key, error: error.message, autoResync: this.#o.autoResync === true });
      if (this.#o.autoResync === true) this.#resyncDue = true;
    }
    return mapped;
  }

  /**
   * The initial snapshot, taken again from the start when the source fails
   * transiently while it is read (a restart, a dropped connection), for as
   * long as the retry policy allows: the new snapshot resets every table
   * before its rows, as a restarted run would.
   */
  async #snapshotRidingOutages(): Promise<PipelineCheckpoint> {
    const backOff = createBackOff(this.#retry);
    for (;;) {
      try {
        return await this.#snapshot();
      } catch (error) {
        if (!(error instanceof SourceStreamFailure)) throw error;
        const cause = error.cause;
        const next = isTransientError(cause) && !this.#o.signal?.aborted ? backOff.next() : undefined;
        if (next === undefined) throw cause;
        this.#reportSourceRetry("read snapshot", "source failed during the snapshot, starting the snapshot again", cause, next);
        this.#tracker = new TableTracker();
        for (const key of Object.keys(this.#rowsThisRun)) delete this.#rowsThisRun[key];
        await sleep(next.delayMs, this.#o.signal);
      }
    }
  }

  async #snapshot(): Promise<PipelineCheckpoint> {
    const { source, sink, name } = this.#o;
    const session = await this.#retrying("start snapshot", () =>
      source.snapshot(this.#o.signal === undefined ? {} : { signal: this.#o.signal }),
    );
    this.#log.info("snapshot started", { tables: session.schemas.length, position: session.position });
    for (const schema of session.schemas) {
      this.#tracker.setState(tableKey(schema.table), "snapshotting");
      const targets = await this.#prepare(schema);
      // a table the target refused (e.g. keyless in history mode) is set aside: no reset, no rows
      if (this.#isSetAside(tableKey(schema.table))) continue;
      for (const target of targets) await this.#retrying("reset table", () => sink.resetTable(target.table));
    }
    const checkpointAt = (phase: PipelineCheckpoint["phase"]): PipelineCheckpoint =>
      Object.freeze({ pipeline: name, phase, position: session.position, tables: this.#tracker.snapshot(), savedAt: new Date().toISOString() });

    for await (const chunk of failuresMarked(session.chunks)) {
      if (this.#o.signal?.aborted) throw new ZeroEtlError("aborted during the snapshot; the next run snapshots again", { code: "aborted" });
      await this.#writeChunk(chunk);
      if (this.#pendingRows >= this.#policy.maxRows || this.#pendingBytes >= this.#policy.maxBytes) await this.#flush(checkpointAt("snapshot"), false);
    }
    for (const key of this.#tracker.tables()) if (this.#tracker.state(key) === "snapshotting") this.#tracker.setState(key, "synced");
    const done = checkpointAt("streaming");
    await this.#flush(done, true);
    this.#log.info("snapshot finished", { rows: { ...this.#rowsThisRun } });
    return done;
  }

  /**
   * Re-snapshots the tables marked `resync-required` or `resyncing` (by
   * {@link markForResync} or after a refused schema change), then lets the
   * stream resume from the unchanged checkpoint. The re-read happens after
   * the checkpoint's position, so replaying the stream from that position
   * afterwards re-applies, in order, every change since: by-key application
   * makes each row converge to its latest state, and no write is lost.
   */
  async #resync(checkpoint: PipelineCheckpoint): Promise<PipelineCheckpoint> {
    const wanted = this.#tracker
      .tables()
      .filter((key) => {
        const state = this.#tracker.state(key);
        return state === "resyncing" || (state === "resync-required" && (this.#o.autoResync === true || this.#tracker.isResyncRequested(key)));
      });
    if (wanted.length === 0) {
      this.#resyncDue = false;
      return checkpoint;
    }
    for (const key of wanted) this.#tracker.setState(key, "resyncing");
    this.#log.info("resyncing tables", { tables: wanted });
    const schemas = await this.#o.source.introspect(this.#o.signal);
    const tables = schemas.filter((s) => wanted.includes(tableKey(s.table))).map((s) => s.table);
    const found = new Set(tables.map(tableKey));
    for (const key of wanted) {
      // gone again before its re-read (e.g. created and dropped while the pipeline was behind)
      if (!found.has(key)) this.#tracker.setState(key, "dropped-at-source", "not found at the source when resyncing");
    }
    const session = await this.#retrying("start resync snapshot", () =>
      this.#o.source.snapshot({ tables, resync: true, ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }) }),
    );
    const sink = this.#o.sink;
    const refused = new Set<string>();
    const setAside = (key: string, error: unknown): void => {
      if (!(error instanceof ZeroEtlError) || error.retryable || error.code === "aborted" || error.code === "connection-failed") throw error;
      // the target still cannot take it: the table stays set aside, the others resync
      refused.add(key);
      this.#tracker.setState(key, "resync-required", error.message);
      this.#log.error("resync refused by the target; the table stays set aside", { table: key, error: error.message });
    };
    // every replacement first, then the resets: a sink replaces a table only with nothing pending,
    // and a reset is pending until the next flush
    const resets: { key: string; target: TableSchema }[] = [];
    for (const schema of session.schemas) {
      const key = tableKey(schema.table);
      this.#keys.set(key, schema.primaryKey);
      this.#schemas.set(key, schema);
      try {
        // a table set aside for a refused schema change gets a new target table where the sink can make one
        const replace = sink.replaceTable?.bind(sink);
        const targets = replace === undefined ? await this.#prepare(schema) : this.#mapper.mapSchema(schema, this.#context);
        if (this.#tracker.state(key) !== "resyncing") throw new ZeroEtlError(this.#tracker.snapshot()[key]?.lastError ?? `${key} was refused`, { code: "schema-refused", table: key });
        for (const target of targets) {
          if (replace !== undefined) {
            await this.#retrying(`replace ${tableKey(target.table)}`, () => replace(target));
            this.#prepared.set(tableKey(target.table), target);
          }
          resets.push({ key, target });
        }
      } catch (error) {
        setAside(key, error);
      }
    }
    for (const { key, target } of resets) {
      if (refused.has(key)) continue;
      try {
        await this.#retrying("reset table", () => sink.resetTable(target.table));
      } catch (error) {
        setAside(key, error);
      }
    }
    const at = (): PipelineCheckpoint =>
      Object.freeze({ ...checkpoint, tables: this.#tracker.snapshot(), savedAt: new Date().toISOString() });
    for await (const chunk of session.chunks) {
      if (refused.has(tableKey(chunk.table))) continue;
      await this.#writeChunk(chunk);
      if (this.#pendingRows >= this.#policy.maxRows || this.#pendingBytes >= this.#policy.maxBytes) await this.#flush(at(), false);
    }
    for (const key of wanted) if (this.#tracker.state(key) === "resyncing") this.#tracker.setState(key, "synced");
    const done = at();
    await this.#flush(done, false);
    // what was refused during this resync waits for the next run, not for another turn now
    this.#resyncDue = false;
    return done;
  }

  async #writeChunk(chunk: SnapshotChunk): Promise<void> {
    const key = tableKey(chunk.table);
    if (!this.#keys.has(key)) {
      // a table the source only discovered while reading (e.g. a routed DynamoDB entity)
      this.#tracker.setState(key, "snapshotting");
      const targets = await this.#prepare(chunk.schema);
      if (!this.#isSetAside(key)) for (const target of targets) await this.#retrying("reset table", () => this.#o.sink.resetTable(target.table));
    }
    if (this.#isSetAside(key)) return;
    const mapped = this.#mapper.mapChunk ? this.#mapper.mapChunk(chunk, this.#context) : [chunk];
    for (const out of mapped) {
      await this.#prepareTarget(out.schema);
      const receipt = await this.#retrying(`write snapshot of ${key}`, () => this.#o.sink.writeSnapshot(out));
      await this.#deadLetter(receipt);
    }
    let bytes = 0;
    for (const row of chunk.rows) bytes += estimateRowBytes(row);
    this.#count(key, chunk.rows.length, bytes, "snapshot");
    this.#tracker.addRows(key, chunk.rows.length);
    this.#metrics.emit({
      type: "snapshot-progress",
      table: key,
      rowsRead: chunk.rowsRead,
      ...(chunk.rowsEstimated === undefined ? {} : { rowsEstimated: chunk.rowsEstimated }),
      done: chunk.last,
    });
  }

  /**
   * Streams, and when one table's changes cannot be applied (a non-retryable
   * error that names the table) sets that table aside as `failed`, persists
   * that, and replays from the last checkpoint without it: the other tables
   * lose nothing and keep flowing.
   */
  async #stream(start: PipelineCheckpoint, target: string | undefined): Promise<PipelineCheckpoint> {
    let checkpoint = start;
    for (;;) {
      try {
        checkpoint = await this.#streamOnce(checkpoint, target);
        if (!this.#resyncDue || this.#o.signal?.aborted) return checkpoint;
        checkpoint = await this.#resync(checkpoint);
        if (target !== undefined && checkpoint.position !== undefined && this.#reached(checkpoint.position, target)) return checkpoint;
      } catch (error) {
        if (error instanceof SourceStreamFailure) {
          checkpoint = await this.#reconnectSource(error.cause, this.#lastDurable(checkpoint));
          continue;
        }
        const failure = tableFailure(error);
        if (failure === undefined || this.#tracker.state(failure.table) === "failed") throw error;
        this.#tracker.setState(failure.table, "failed", failure.message);
        this.#metrics.emit({ type: "table-state", table: failure.table, state: "failed", reason: failure.message });
        this.#metrics.emit({ type: "error", code: failure.code, retryable: false, table: failure.table });
        this.#log.error("table set aside after an error; the other tables go on", { table: failure.table, error: failure.message });
        // what was accepted since the last flush is gone with the failed flush; replay it without the failed table
        this.#pendingRows = 0;
        this.#pendingBytes = 0;
        checkpoint = Object.freeze({ ...this.#lastDurable(checkpoint), tables: this.#tracker.snapshot(), savedAt: new Date().toISOString() });
        await this.#flush(checkpoint, false);
      }
    }
  }

  /** Whether a table's rows are skipped until a resync (set aside by a refusal or an error). */
  #isSetAside(key: string): boolean {
    const state = this.#tracker.state(key);
    return state === "failed" || state === "resync-required";
  }

  #lastDurable(fallback: PipelineCheckpoint): PipelineCheckpoint {
    return this.#durable ?? fallback;
  }

  /**
   * The source's stream failed. A transient failure (a restart, a dropped
   * connection) is ridden out: what was applied up to the last complete
   * batch is made durable, then the stream is reopened from that checkpoint
   * after a back-off, for as long as the retry policy allows. Anything else,
   * or an outage longer than the policy, ends the run with the error.
   */
  async #reconnectSource(error: unknown, durable: PipelineCheckpoint): Promise<PipelineCheckpoint> {
    if (!isTransientError(error) || this.#o.signal?.aborted) throw error;
    const outage = (this.#sourceOutage ??= { backOff: createBackOff(this.#retry), attempts: 0, since: Date.now() });
    const next = outage.backOff.next();
    if (next === undefined) throw error;
    outage.attempts += 1;
    this.#reportSourceRetry("stream source", "source stream failed, reconnecting from the last checkpoint", error, next);
    let checkpoint = durable;
    const latest = this.#latest;
    if (latest !== undefined && (this.#pendingRows > 0 || latest !== checkpoint.position)) checkpoint = await this.#flushAt(checkpoint, latest);
    this.#latest = undefined;
    await sleep(next.delayMs, this.#o.signal).catch(() => undefined);
    return checkpoint;
  }

  /** Says, in a metric and a log line, that a transient source failure is being ridden out. */
  #reportSourceRetry(operation: string, what: string, error: unknown, next: { readonly attempt: number; readonly delayMs: number; readonly elapsedMs: number }): void {
    const code = error instanceof ZeroEtlError ? error.code : "connection-failed";
    const message = error instanceof Error ? error.message : String(error);
    this.#metrics.emit({ type: "error", code, retryable: true });
    this.#metrics.emit({ type: "retrying", operation, side: "source", attempt: next.attempt, delayMs: next.delayMs, elapsedMs: next.elapsedMs, code, error: message });
    this.#log.warn(what, { attempt: next.attempt, delayMs: next.delayMs, elapsedMs: next.elapsedMs, code, error: message });
  }

  async #streamOnce(start: PipelineCheckpoint, target: string | undefined): Promise<PipelineCheckpoint> {
    const { source, signal } = this.#o;
    let checkpoint = start;
    let latest: string | undefined;
    const iterator = source.stream(start.position ?? "", signal === undefined ? {} : { signal })[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<ChangeBatch>> | undefined;
    this.#latest = undefined;
    try {
      for (;;) {
        if (signal?.aborted) break;
        // a failure of the source's stream is told apart from the sink's, which `#retrying` already rode out
        next ??= iterator.next().catch((error: unknown) => {
          throw new SourceStreamFailure(error);
        });
        const remaining = Math.max(0, this.#pendingSince + this.#policy.maxWaitMs - Date.now());
        // a timed flush needs a position to checkpoint; without one, wait for the source
        const waitMs = this.#pendingRows > 0 && latest !== undefined ? (this.#caughtUp ? Math.min(remaining, this.#policy.lingerMs) : remaining) : undefined;
        const result = await raceTimeout(next, waitMs, signal);
        if (result === "timeout" || result === "aborted") {
          if (latest !== undefined) checkpoint = await this.#flushAt(checkpoint, latest);
          if (result === "aborted") break;
          continue;
        }
        next = undefined;
        if (result.done) break;
        const batch = result.value;
        if (this.#sourceOutage !== undefined) this.#sourceRecovered();
        await this.#apply(batch, checkpoint, latest);
        if (batch.checkpoint !== undefined) latest = this.#latest = batch.checkpoint;
        if (batch.tableChanges !== undefined && batch.tableChanges.length > 0) checkpoint = await this.#applyTableChanges(batch.tableChanges, checkpoint, latest);
        this.#caughtUp = batch.caughtUp === true;
        const reachedTarget = target !== undefined && latest !== undefined && this.#reached(latest, target);
        const full = this.#pendingRows >= this.#policy.maxRows || this.#pendingBytes >= this.#policy.maxBytes;
        const idleAdvance = this.#pendingRows === 0 && latest !== undefined && latest !== checkpoint.position && batch.events.length === 0;
        if ((full || reachedTarget || idleAdvance) && latest !== undefined) checkpoint = await this.#flushAt(checkpoint, latest);
        if (reachedTarget) break;
        if (this.#resyncDue && latest !== undefined) {
          checkpoint = await this.#flushAt(checkpoint, latest);
          break;
        }
      }
      if (latest !== undefined && latest !== checkpoint.position) checkpoint = await this.#flushAt(checkpoint, latest);
    } finally {
      await iterator.return?.();
    }
    return checkpoint;
  }

  async #apply(batch: ChangeBatch, checkpoint: PipelineCheckpoint, latest: string | undefined): Promise<void> {
    let run: ChangeEvent[] = [];
    for (const event of batch.events) {
      const key = tableKey(event.table);
      const state = this.#tracker.state(key);
      // a transaction committed before the table change is in the re-read; one committed after is applied again, by key
      if (state === "dropped-at-source" || this.#isReplaced(key, event.commitPosition ?? event.position)) continue;
      if (event.op === "schema") {
        // flush what came before so DDL never races rows of the older shape
        await this.#write(run);
        run = [];
        if (latest !== undefined && this.#pendingRows > 0) await this.#flushAt(checkpoint, latest);
        this.#log.info("schema change", { table: tableKey(event.table), version: event.schema.version });
        const renamed = event.renamed !== undefined && Object.keys(event.renamed).length > 0 ? event.renamed : undefined;
        // (unless replayed after the re-read it caused)
        if (renamed !== undefined && this.#o.sink.capabilities.renames !== true && this.#tracker.replacedAt(key) !== event.position) {
          // the target cannot rename in place: evolve it, then read the table again from this position on
          await this.#prepare(event.schema);
          this.#requestRefresh(key, `columns renamed (${Object.entries(renamed).map(([to, from]) => `${from} to ${to}`).join(", ")}) and the target cannot rename`, event.position);
          continue;
        }
        await this.#prepare(event.schema, renamed);
        // mappers see the schema event too (they track shapes); the sink got it through prepare
        const mapped = this.#mapper.mapEvents([event], this.#context).filter((e) => e.op !== "schema");
        if (mapped.length > 0) await this.#writeMapped(mapped);
        continue;
      }
      if (state === "failed" || state === "resync-required") continue;
      run.push(event);
      const bytes = event.op === "insert" || event.op === "update" ? estimateRowBytes(event.after) : 16;
      this.#count(key, 1, bytes, event.op);
      this.#tracker.addRows(key, 1, event.position);
      if (event.commitTime !== undefined) this.#lastCommitTime = event.commitTime;
    }
    await this.#write(run);
    // records the source could not decode: dead letters, like records a sink refuses
    if (batch.rejected !== undefined && batch.rejected.length > 0) await this.#deadLetter({ accepted: 0, rejected: batch.rejected });
  }

  /** Whether an event of `table` at `position` is older than a table change its target copy already reflects. */
  #isReplaced(table: string, position: string): boolean {
    const replacedAt = this.#tracker.replacedAt(table);
    if (replacedAt === undefined || position === "") return false;
    const codec = this.#o.source.positions;
    return codec.compare(codec.parse(position), codec.parse(replacedAt)) < 0;
  }

  /** Marks a table to be read again from `position` on: the stream stops at the next checkpoint and the resync follows. */
  #requestRefresh(key: string, reason: string, position: string): void {
    this.#tracker.requestRefresh(key, reason, position);
    this.#metrics.emit({ type: "table-state", table: key, state: "resync-required", reason });
    this.#log.info("the table will be read again", { table: key, reason, position });
    this.#resyncDue = true;
  }

  /**
   * Applies the table changes of a batch, in order, after its events. A
   * refresh marks the table for a re-read (the stream stops at the next
   * checkpoint, the resync runs, the stream resumes); a drop makes what came
   * before durable, then removes the table's target tables.
   */
  async #applyTableChanges(changes: readonly TableChange[], checkpoint: PipelineCheckpoint, latest: string | undefined): Promise<PipelineCheckpoint> {
    let current = checkpoint;
    for (const change of changes) {
      const key = tableKey(change.table);
      // replayed after the re-read or drop it caused
      const replacedAt = this.#tracker.replacedAt(key);
      if (replacedAt !== undefined && (replacedAt === change.position || this.#isReplaced(key, change.position))) continue;
      if (change.kind === "refresh") {
        this.#requestRefresh(key, change.reason, change.position);
        continue;
      }
      if (this.#pendingRows > 0) current = await this.#flushAt(current, latest ?? current.position ?? change.position);
      this.#tracker.drop(key, change.reason, change.position);
      this.#metrics.emit({ type: "table-state", table: key, state: "dropped-at-source", reason: change.reason });
      this.#log.info("table gone from the source", { table: key, reason: change.reason, position: change.position });
      const drop = this.#o.sink.dropTable?.bind(this.#o.sink);
      if (drop === undefined) continue;
      // a table forgotten on resume (dropped while the pipeline was stopped) has no known shape: its root target table is found by name
      const schema = this.#schemas.get(key) ?? { table: change.table, version: 0, primaryKey: [], columns: [] };
      for (const target of this.#mapper.mapSchema(schema, this.#context)) {
        const targetKey = tableKey(target.table);
        await this.#retrying(`drop ${targetKey}`, () => drop(target.table));
        this.#prepared.delete(targetKey);
      }
    }
    return current;
  }

  async #write(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const mapped = this.#mapper.mapEvents(events, this.#context);
    // mappers may change target schemas themselves (an unnested attribute
    // seen for the first time): prepare the sink before the rows that need it
    let start = 0;
    for (let i = 0; i < mapped.length; i++) {
      const event = mapped[i];
      if (event?.op !== "schema") continue;
      await this.#writeMapped(mapped.slice(start, i));
      await this.#prepareTarget(event.schema);
      start = i + 1;
    }
    await this.#writeMapped(start === 0 ? mapped : mapped.slice(start));
  }

  async #writeMapped(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const receipt = await this.#retrying("write changes", () => this.#o.sink.write({ events }));
    await this.#deadLetter(receipt);
  }

  /** Prepares a target table unless this exact schema was prepared already. */
  async #prepareTarget(schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<void> {
    const key = tableKey(schema.table);
    // a rename is passed on even when the schema itself was prepared already (e.g. introspected on resume)
    if (this.#prepared.get(key) === schema && renamed === undefined) return;
    await this.#retrying(`prepare ${key}`, () => (renamed === undefined ? this.#o.sink.prepare(schema) : this.#o.sink.prepare(schema, { renamed })));
    this.#prepared.set(key, schema);
  }

  #count(table: string, rows: number, bytes: number, op: ChangeEvent["op"] | "snapshot"): void {
    if (this.#pendingRows === 0) this.#pendingSince = Date.now();
    this.#pendingRows += rows;
    this.#pendingBytes += bytes;
    this.#rowsThisRun[table] = (this.#rowsThisRun[table] ?? 0) + rows;
    this.#metrics.emit({ type: "rows", table, op, rows, bytes });
  }

  async #deadLetter(receipt: WriteReceipt): Promise<void> {
    if (receipt.rejected.length === 0) return;
    const letters = receipt.rejected.map((r) => toDeadLetter(this.#o.name, r.event, this.#keys.get(tableKey(r.event.table)) ?? [], r.reason));
    this.#deadLetters += letters.length;
    for (const letter of letters) {
      this.#log.warn("record dead-lettered", { table: letter.table, op: letter.op, position: letter.position, reason: letter.reason });
      this.#metrics.emit({ type: "dead-letter", table: letter.table, count: 1 });
    }
    await this.#o.deadLetters?.put(letters);
  }

  async #flushAt(previous: PipelineCheckpoint, position: string): Promise<PipelineCheckpoint> {
    const checkpoint: PipelineCheckpoint = Object.freeze({
      pipeline: this.#o.name,
      phase: "streaming",
      position,
      tables: this.#tablesAt(position),
      savedAt: new Date().toISOString(),
    });
    if (previous.position !== undefined && this.#o.source.positions.compare(this.#o.source.positions.parse(position), this.#o.source.positions.parse(previous.position)) < 0) {
      throw new ZeroEtlError(`checkpoint would move backwards from ${previous.position} to ${position}`, { code: "position-regressed" });
    }
    await this.#flush(checkpoint, true);
    return checkpoint;
  }

  async #flush(checkpoint: PipelineCheckpoint, acknowledge: boolean): Promise<void> {
    await this.#retrying("flush sink", () => this.#o.sink.flush(checkpoint));
    await this.#retrying("save checkpoint", () => this.#o.checkpoints.save(checkpoint));
    this.#durable = checkpoint;
    // only once durable: a replay within this run still starts before it
    for (const [key, status] of Object.entries(checkpoint.tables)) if (status.replacedAt === undefined) this.#tracker.clearReplacedAt(key);
    if (acknowledge && checkpoint.position !== undefined && checkpoint.phase === "streaming") {
      const position = checkpoint.position;
      await this.#retrying("acknowledge source", () => this.#o.source.acknowledge(position));
    }
    this.#metrics.emit({ type: "checkpoint", position: checkpoint.position ?? "" });
    // lag: how old the newest applied change is, or 0 when the source had nothing newer
    const lag = this.#caughtUp || this.#lastCommitTime === undefined ? 0 : Math.max(0, (Date.now() - this.#lastCommitTime) / 1000);
    this.#metrics.emit({ type: "lag", seconds: lag });
    this.#log.debug("checkpoint saved", { position: checkpoint.position, rows: this.#pendingRows });
    this.#pendingRows = 0;
    this.#pendingBytes = 0;
  }

  #sourceRecovered(): void {
    const outage = this.#sourceOutage;
    if (outage === undefined) return;
    this.#sourceOutage = undefined;
    const elapsedMs = Date.now() - outage.since;
    this.#metrics.emit({ type: "recovered", operation: "stream source", side: "source", attempts: outage.attempts, elapsedMs });
    this.#log.warn("source stream resumed", { attempts: outage.attempts, elapsedMs });
  }

  /**
   * The tables for a checkpoint at `position`: a table change at or before
   * it can no longer be replayed from there, so its `replacedAt` guard is
   * left out (a table still waiting for its re-read keeps it).
   */
  #tablesAt(position: string): PipelineCheckpoint["tables"] {
    const tables = this.#tracker.snapshot();
    const codec = this.#o.source.positions;
    let at: unknown;
    let out: Record<string, TableStatus> | undefined;
    for (const [key, status] of Object.entries(tables)) {
      if (status.replacedAt === undefined || status.state === "resync-required" || status.state === "resyncing") continue;
      at ??= codec.parse(position);
      if (codec.compare(codec.parse(status.replacedAt), at) > 0) continue;
      const { replacedAt: _passed, ...rest } = status;
      out ??= { ...tables };
      out[key] = Object.freeze(rest);
    }
    return out === undefined ? tables : Object.freeze(out);
  }

  #reached(position: string, target: string): boolean {
    const codec = this.#o.source.positions;
    return codec.compare(codec.parse(position), codec.parse(target)) >= 0;
  }

  async #retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const side = sideOf(what);
    let attempts = 0;
    let since = 0;
    const result = await withRetry(operation, {
      policy: this.#retry,
      ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }),
      onRetry: (error, attempt, delayMs, elapsedMs) => {
        if (attempts === 0) since = Date.now();
        attempts += 1;
        const code = error instanceof ZeroEtlError ? error.code : "connection-failed";
        const message = error instanceof Error ? error.message : String(error);
        this.#metrics.emit({ type: "error", code, retryable: true });
        this.#metrics.emit({ type: "retrying", operation: what, side, attempt, delayMs, elapsedMs, code, error: message });
        this.#log.warn(`${what} failed, retrying`, { side, attempt, delayMs, elapsedMs, code, error: message });
      },
    });
    if (attempts > 0) {
      const elapsedMs = Date.now() - since;
      this.#metrics.emit({ type: "recovered", operation: what, side, attempts, elapsedMs });
      this.#log.warn(`${what} succeeded again after ${attempts} retries`, { side, attempts, elapsedMs });
    }
    return result;
  }
}

/**
 * Returns a checkpoint with the named tables marked `resync-required`; a run
 * that starts from it re-snapshots them before it resumes streaming. Pure:
 * the caller stores the result where the pipeline reads its checkpoint.
 */
export function markForResync(checkpoint: PipelineCheckpoint, tables: readonly string[]): PipelineCheckpoint {
  const now = new Date().toISOString();
  const updated: Record<string, TableStatus> = { ...checkpoint.tables };
  for (const table of tables) updated[table] = { ...(updated[table] ?? { rows: 0 }), state: "resync-required", resyncRequested: true, updatedAt: now };
  return Object.freeze({ ...checkpoint, tables: Object.freeze(updated), savedAt: now });
}

/**
 * The renames of a source schema change that concern one of its target
 * tables: those whose new name is a column of it (a mapper may have left the
 * column out, or moved it to another target table). Undefined when none.
 */
function renamesFor(target: TableSchema, renamed: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  if (renamed === undefined) return undefined;
  let out: Record<string, string> | undefined;
  for (const [to, from] of Object.entries(renamed)) {
    if (to === from || !target.columns.some((c) => c.name === to)) continue;
    (out ??= {})[to] = from;
  }
  return out;
}

/** A failure of the source's stream (as opposed to the sink's), carried to the loop that reconnects. */
class SourceStreamFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("source stream failed", { cause });
  }
}

/** The source's chunks, with a failure of the source told apart (as {@link SourceStreamFailure}) from the sink's. */
async function* failuresMarked<T>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      let result: IteratorResult<T>;
      try {
        result = await iterator.next();
      } catch (error) {
        throw new SourceStreamFailure(error);
      }
      if (result.done === true) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Which side an operation of `#retrying` talks to, for logs and the `retrying` metric. */
function sideOf(operation: string): "source" | "target" | "state" {
  if (operation === "save checkpoint") return "state";
  return /source|^start /.test(operation) ? "source" : "target";
}

/** The table a non-retryable error is about, if it names one. */
function tableFailure(error: unknown): { table: string; message: string; code: string } | undefined {
  if (!(error instanceof ZeroEtlError) || error.retryable || error.table === undefined) return undefined;
  return { table: error.table, message: error.message, code: error.code };
}

/** Waits for `promise`, at most `ms` (no limit when undefined), or until the signal aborts. */
async function raceTimeout<T>(promise: Promise<T>, ms: number | undefined, signal: AbortSignal | undefined): Promise<T | "timeout" | "aborted"> {
  if (ms === undefined && signal === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const contenders: Promise<T | "timeout" | "aborted">[] = [promise];
  if (ms !== undefined) contenders.push(new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), ms))));
  if (signal !== undefined) {
    if (signal.aborted) return "aborted";
    contenders.push(new Promise((resolve) => signal.addEventListener("abort", (onAbort = () => resolve("aborted")), { once: true })));
  }
  try {
    return await Promise.race(contenders);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
