import { randomBytes } from "node:crypto";
import type { ChangeBatch } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { CheckpointStore, PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableStatus } from "../state/table-state.js";
import type { DeadLetterQueue } from "../dlq/dead-letter-queue.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import { composeMappers } from "../mapper/compose-mappers.js";
import type { Mapper } from "../mapper/mapper.js";
import type { Logger } from "../observability/logger.js";
import { silentLogger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import { createPipelineMetrics } from "../observability/metrics.js";
import { parseTableKey, tableKey } from "../schema/table-schema.js";
import { estimateRowBytes } from "../schema/value.js";
import type { Sink } from "../sink/sink.js";
import type { Source } from "../source/source.js";
import type { StreamMarker } from "../source/incremental-snapshot-source.js";
import { isTableApplying } from "../state/table-state.js";
import type { BatchPolicy } from "./batch-policy.js";
import { DEFAULT_BATCH_POLICY } from "./batch-policy.js";
import { isTransientError } from "./error-classification.js";
import { PipelineTarget } from "./pipeline-target.js";
import type { RetryPolicy } from "./retry.js";
import { DEFAULT_RETRY_POLICY, createBackOff, sleep } from "./retry.js";
import type { RetryingOperation } from "./retrying-operation.js";
import { createRetryingOperation } from "./retrying-operation.js";
import { SourceOutage, SourceStreamFailure, failuresMarked, reportSourceRetry } from "./source-outage.js";
import { TableChangeApplier } from "./table-change-applier.js";
import { resyncTables } from "./table-resync.js";
import { startIncrementalSnapshots } from "./incremental-resync.js";
import { DEFAULT_INCREMENTAL_CHUNK_ROWS, IncrementalSnapshotter } from "./incremental-snapshotter.js";
import type { TableSchema } from "../schema/table-schema.js";
import { TableTracker } from "./table-tracker.js";
import type { SelectionChanges } from "./selection-changes.js";
import { BatchTally } from "./batch-tally.js";
import { MARKER_KEY_BYTES } from "./stream-marker.js";

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
  /**
   * `blocking` (default): the first snapshot and every resync read their
   * tables before the stream (re)starts. `incremental`: tables with a primary
   * key are read in chunks bracketed by watermarks written through the
   * change stream, while the stream goes on (the source must offer
   * `Source.incremental`); a resync can then also be asked of the running
   * pipeline through the stream (a `resync` marker). Tables without a key
   * are still read the blocking way.
   */
  readonly snapshotMode?: "blocking" | "incremental";
  /** Rows per incremental chunk; default {@link DEFAULT_INCREMENTAL_CHUNK_ROWS}. */
  readonly incrementalChunkRows?: number;
  /**
   * Where the caller asks the running pipeline to take a new table selection
   * (a config reload): the stream stops at the next checkpoint, the change is
   * applied, the tables are reconciled as on a restart (new ones read, with
   * `snapshotMode: "incremental"` beside the stream; dropped ones forgotten,
   * their target copies left as they are), and the stream resumes.
   */
  readonly selectionChanges?: SelectionChanges;
  /**
   * What `source.introspect()` returned just before the run (the CLI reads it
   * to check target names before anything is written): a run that resumes
   * takes it as its first look at the source's tables instead of reading the
   * catalog again (one connection and a few round trips less at start). Every
   * later look asks the source; the stream compares what it decodes with the
   * source's own catalog as always.
   */
  readonly introspected?: readonly TableSchema[];
  /**
   * The pipeline's marker key ({@link MARKER_KEY_BYTES} random bytes, kept
   * secret): with `snapshotMode: "incremental"` every marker the run writes
   * into the change stream carries an HMAC under it, and the run obeys only
   * markers it verifies (a forged resync signal or watermark is logged and
   * ignored). A resync signal from another process (`zeroetl resync`) must be
   * written with the same key. Default: a random key for this run alone, so
   * watermarks work and no signal from outside is obeyed.
   */
  readonly markerKey?: Uint8Array;
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
  readonly #retrying: RetryingOperation;
  readonly #target: PipelineTarget;
  readonly #tableChanges: TableChangeApplier;
  readonly #outage: SourceOutage;
  readonly #acknowledge: (position: string) => Promise<void>;
  /** The newest batch checkpoint the current stream delivered (applied, maybe not yet durable). */
  #latest: string | undefined;
  /**
   * Sink work started and not awaited yet (a batch's write, then maybe the
   * durable part of a flush), so that the source decodes the next batch
   * meanwhile. At most one batch's work is in flight: the next write waits
   * for it ({@link PipelineRun.#settle}), and so does everything else that
   * touches the sink or the checkpoint.
   */
  #inFlight: Promise<void> | undefined;
  /** Where the current stream's time went (logged when it ends): see {@link StreamStages}. */
  #stages = newStages();
  /** Whether the last batch prepared had schemas made by the mappers (see {@link PipelineTarget.prepareWrite}). */
  #lastMadeSchemas = false;
  /** Incremental snapshots beside the stream (`snapshotMode: "incremental"`). */
  readonly #incremental: IncrementalSnapshotter | undefined;
  /** The current stream stopped to take a new table selection (`PipelineOptions.selectionChanges`). */
  #reselectDue = false;
  /** Set when the source's stream is opened again within the run: {@link PipelineRun.#prepareForNewStream} runs first. */
  #streamReopened = false;
  /** `PipelineOptions.introspected`, until the first look at the source's tables takes it: a later look (a new selection) asks the source. */
  #introspected: readonly TableSchema[] | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#introspected = options.introspected;
    this.#log = (options.logger ?? silentLogger).child({ pipeline: options.name });
    this.#metrics = options.metrics ?? createPipelineMetrics();
    this.#policy = { ...DEFAULT_BATCH_POLICY, ...options.sink.capabilities.defaultBatch, ...options.batch };
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#retrying = createRetryingOperation({ policy: this.#retry, metrics: this.#metrics, log: this.#log, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    this.#target = new PipelineTarget({
      name: options.name,
      sink: options.sink,
      mapper: composeMappers(options.mappers ?? []),
      checkpoints: options.checkpoints,
      ...(options.deadLetters === undefined ? {} : { deadLetters: options.deadLetters }),
      positions: options.source.positions,
      policy: this.#policy,
      retrying: this.#retrying,
      metrics: this.#metrics,
      log: this.#log,
      autoResync: options.autoResync === true,
    });
    const source = options.source;
    this.#acknowledge = (position) => source.acknowledge(position);
    this.#tableChanges = new TableChangeApplier({
      target: this.#target,
      sink: options.sink,
      positions: source.positions,
      flushAt: (previous, position) => this.#flushAt(previous, position),
      retrying: this.#retrying,
      metrics: this.#metrics,
      log: this.#log,
    });
    this.#outage = new SourceOutage(this.#retry, this.#metrics, this.#log);
    const incremental = source.incremental;
    if (options.snapshotMode === "incremental") {
      if (incremental === undefined) throw new ZeroEtlError(`snapshot.mode "incremental": the ${source.kind} source cannot take incremental snapshots; use "blocking"`, { code: "config-invalid" });
      this.#incremental = new IncrementalSnapshotter({
        pipeline: options.name,
        source: incremental,
        markerKey: options.markerKey ?? randomBytes(MARKER_KEY_BYTES),
        tracker: () => this.#target.tracker,
        schemaOf: (key) => this.#target.schemaOf(key),
        chunkRows: options.incrementalChunkRows ?? DEFAULT_INCREMENTAL_CHUNK_ROWS,
        retrying: this.#retrying,
        metrics: this.#metrics,
        log: this.#log,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    }
  }

  async run(): Promise<PipelineResult> {
    try {
      return await this.#run();
    } finally {
      await this.#incremental?.stop();
    }
  }

  async #run(): Promise<PipelineResult> {
    const { source, sink, name, signal } = this.#o;
    const began = performance.now();
    const step = (what: string): void => this.#log.debug("run start step", { step: what, ms: Math.round(performance.now() - began) });
    // the source's position and the target's lock and open go on at once (two servers, two round-trip chains at start)
    const reading = this.#o.untilCaughtUp ? this.#retrying("read source position", () => source.currentPosition()) : Promise.resolve(undefined);
    // one writer per pipeline: refuse before anything is written or snapshotted (reading the position changes nothing)
    const lock = sink.lock?.bind(sink);
    const opening = (async () => {
      if (lock !== undefined) await this.#retrying("lock target", () => lock(signal === undefined ? { pipeline: name } : { pipeline: name, signal }));
      return this.#retrying("open sink", () => sink.open(signal === undefined ? { pipeline: name } : { pipeline: name, signal }));
    })();
    const [target, stored] = await Promise.all([reading, opening]);
    step("target locked and opened, source position read");
    let checkpoint = sink.capabilities.checkpointsInTarget ? stored : await this.#o.checkpoints.load(name);
    step("checkpoint loaded");
    let snapshotted = false;
    if ((checkpoint?.phase !== "streaming" || checkpoint.position === undefined) && this.#incremental !== undefined) {
      checkpoint = await this.#beginIncrementalSnapshot();
      snapshotted = true;
      checkpoint = await this.#resync(checkpoint);
    } else if (checkpoint?.phase !== "streaming" || checkpoint.position === undefined) {
      checkpoint = await this.#snapshotRidingOutages();
      snapshotted = true;
    } else {
      this.#target.tracker = new TableTracker(checkpoint.tables);
      this.#log.info("resuming", { position: checkpoint.position });
      if (await this.#prepareTables()) {
        // tables left the selection (or their pending drop was done): persist that, so selecting them again re-reads them
        checkpoint = Object.freeze({ ...checkpoint, tables: this.#target.tracker.snapshot(), savedAt: new Date().toISOString() });
        await this.#target.flush(checkpoint);
      }
      step("tables prepared");
      this.#resumeIncremental();
      checkpoint = await this.#resync(checkpoint);
    }
    // the startup look at the source is spent (a snapshot never takes it): a new selection later asks the source
    this.#introspected = undefined;
    step(snapshotted ? "snapshot done" : "ready to stream");
    const busy = this.#incremental?.busy === true;
    if (!(target !== undefined && checkpoint.position !== undefined && this.#reached(checkpoint.position, target) && !busy) && !signal?.aborted) {
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
    return { checkpoint, snapshotted, rows: { ...this.#target.rowsThisRun }, deadLetters: this.#target.deadLetters };
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
    const startup = this.#introspected;
    this.#introspected = undefined;
    const schemas = startup ?? (await this.#retrying("introspect source", () => this.#o.source.introspect(this.#o.signal)));
    // read after the selection: whatever a table left behind did is before it (asked now, it overlaps the target's work below)
    const reading = this.#retrying("read source position", () => this.#o.source.currentPosition());
    // observed below; without this a failure while preparing would leave it unhandled
    reading.catch(() => undefined);
    const tracker = this.#target.tracker;
    const selected = new Set<string>();
    for (const schema of schemas) {
      const key = tableKey(schema.table);
      selected.add(key);
      const state = tracker.state(key);
      if (state === undefined || state === "dropped-at-source") {
        const reason = state === undefined ? "newly selected" : "back at the source";
        tracker.requestRefresh(key, reason);
        this.#target.remember(schema);
        this.#log.info("table will be snapshotted", { table: key, reason });
        continue;
      }
      await this.#target.prepare(schema);
    }
    const position = await reading;
    this.#tableChanges.resumedWith(selected, position);
    let forgot = false;
    let keep: Set<string> | undefined;
    for (const key of tracker.tables()) {
      if (selected.has(key)) continue;
      if (tracker.isDropPending(key)) {
        // the checkpoint recorded the drop, a crash came before its target tables were removed: remove them now
        // (never a target table that a selected table maps to)
        keep ??= new Set(schemas.flatMap((schema) => this.#target.targetsOf(schema).map((mapped) => tableKey(mapped.table))));
        await this.#tableChanges.dropTargets(key, parseTableKey(key), keep);
        forgot = true;
        continue;
      }
      if (tracker.state(key) === "dropped-at-source") continue;
      tracker.forget(key);
      forgot = true;
      this.#log.info("table no longer selected; its target table is left as it is", { table: key });
    }
    return forgot;
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
        if (error instanceof CopyRefused) {
          // once per table: it is read by rows from now on, so this cannot loop
          this.#target.copyRefused.add(error.table);
          this.#log.warn("the target refused a table's COPY load; snapshotting again with that table read by rows", { table: error.table, error: errorMessage(error.cause) });
          this.#target.tracker = new TableTracker();
          const rows = this.#target.rowsThisRun;
          for (const key of Object.keys(rows)) delete rows[key];
          continue;
        }
        if (!(error instanceof SourceStreamFailure)) throw error;
        const cause = error.cause;
        const next = isTransientError(cause) && !this.#o.signal?.aborted ? backOff.next() : undefined;
        if (next === undefined) throw cause;
        reportSourceRetry(this.#metrics, this.#log, "read snapshot", "source failed during the snapshot, starting the snapshot again", cause, next);
        this.#target.tracker = new TableTracker();
        const rows = this.#target.rowsThisRun;
        for (const key of Object.keys(rows)) delete rows[key];
        await sleep(next.delayMs, this.#o.signal);
      }
    }
  }

  async #snapshot(): Promise<PipelineCheckpoint> {
    const { source, name } = this.#o;
    const target = this.#target;
    const copy = target.copyPredicate();
    const session = await this.#retrying("start snapshot", () =>
      source.snapshot({ ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }), ...(copy === undefined ? {} : { copy }) }),
    );
    this.#log.info("snapshot started", { tables: session.schemas.length, position: session.position });
    for (const schema of session.schemas) {
      target.tracker.setState(tableKey(schema.table), "snapshotting");
      const targets = await target.prepare(schema);
      // a table the target refused (e.g. keyless in history mode) is set aside: no reset, no rows
      if (target.isSetAside(tableKey(schema.table))) continue;
      for (const mapped of targets) await target.reset(mapped);
    }
    const checkpointAt = (phase: PipelineCheckpoint["phase"]): PipelineCheckpoint =>
      Object.freeze({ pipeline: name, phase, position: session.position, tables: target.tracker.snapshot(), savedAt: new Date().toISOString() });

    for await (const chunk of failuresMarked(session.chunks)) {
      if (this.#o.signal?.aborted) throw new ZeroEtlError("aborted during the snapshot; the next run snapshots again", { code: "aborted" });
      if (chunk.copy !== undefined) {
        // the COPY commits on the sink's other connections: the table's reset (and its lock) must be committed first
        await target.flush(checkpointAt("snapshot"));
        try {
          await target.copyChunk(chunk, chunk.copy, this.#o.signal);
        } catch (error) {
          if (error instanceof SourceStreamFailure || this.#o.signal?.aborted === true) throw error;
          // a row the target refuses fails a whole COPY: the row path dead-letters it and goes on
          throw new CopyRefused(tableKey(chunk.table), error);
        }
        continue;
      }
      await target.writeChunk(chunk);
      if (target.full) await target.flush(checkpointAt("snapshot"));
    }
    for (const key of target.tracker.tables()) if (target.tracker.state(key) === "snapshotting") target.tracker.setState(key, "synced");
    const done = checkpointAt("streaming");
    await target.flush(done, this.#acknowledge);
    this.#log.info("snapshot finished", { rows: { ...target.rowsThisRun } });
    return done;
  }

  async #resync(checkpoint: PipelineCheckpoint): Promise<PipelineCheckpoint> {
    const { source, sink, signal } = this.#o;
    const context = { source, sink, target: this.#target, retrying: this.#retrying, log: this.#log, autoResync: this.#o.autoResync === true, ...(signal === undefined ? {} : { signal }) };
    let current = checkpoint;
    const incremental = this.#incremental;
    if (incremental !== undefined) {
      // tables with a key are read beside the stream; the others below, before it resumes
      const tracker = this.#target.tracker;
      const wanted = new Set(
        tracker.tables().filter((key) => {
          const state = tracker.state(key);
          return tracker.incremental(key) === undefined && (state === "resyncing" || (state === "resync-required" && (context.autoResync || tracker.isResyncRequested(key))));
        }),
      );
      if (wanted.size > 0) {
        const schemas = (await this.#retrying("introspect source", () => source.introspect(signal))).filter((s) => wanted.has(tableKey(s.table)) && s.primaryKey.length > 0);
        if (schemas.length > 0) {
          const started = await startIncrementalSnapshots(context, current, schemas, "resyncing");
          current = started.checkpoint;
          for (const key of started.tables) incremental.enqueue(key);
        }
      }
    }
    return resyncTables(context, current);
  }

  /**
   * The first snapshot, incremental: the source's snapshot of no table gives
   * the stream's start (for PostgreSQL it creates the slot); every selected
   * table with a key is emptied and queued for chunks read beside the
   * stream, and every table without one is marked for the blocking re-read
   * that runs before the stream starts.
   */
  async #beginIncrementalSnapshot(): Promise<PipelineCheckpoint> {
    const { source, sink, name, signal } = this.#o;
    const session = await this.#retrying("start snapshot", () => source.snapshot({ tables: [], ...(signal === undefined ? {} : { signal }) }));
    // nothing to read: ending the iteration releases what the session holds
    for await (const chunk of session.chunks) void chunk;
    const schemas = await this.#retrying("introspect source", () => source.introspect(signal));
    this.#target.tracker = new TableTracker();
    const tracker = this.#target.tracker;
    const keyed: TableSchema[] = [];
    for (const schema of schemas) {
      if (schema.primaryKey.length > 0) keyed.push(schema);
      else {
        await this.#target.prepare(schema);
        tracker.requestRefresh(tableKey(schema.table), "no primary key: read before the stream starts");
      }
    }
    const start: PipelineCheckpoint = Object.freeze({ pipeline: name, phase: "streaming", position: session.position, tables: tracker.snapshot(), savedAt: new Date().toISOString() });
    this.#log.info("incremental snapshot started", { tables: keyed.length, blocking: schemas.length - keyed.length, position: session.position });
    const context = { source, sink, target: this.#target, retrying: this.#retrying, log: this.#log, autoResync: false, ...(signal === undefined ? {} : { signal }) };
    const started = await startIncrementalSnapshots(context, start, keyed, "snapshotting");
    for (const key of started.tables) this.#incremental?.enqueue(key);
    return started.checkpoint;
  }

  /** On resume: the tables whose incremental snapshot a previous run did not finish read on from their last chunk. */
  #resumeIncremental(): void {
    const tracker = this.#target.tracker;
    for (const key of tracker.tables()) {
      const progress = tracker.incremental(key);
      const state = tracker.state(key);
      if (progress === undefined || state === undefined || !isTableApplying(state)) continue;
      if (this.#incremental === undefined) {
        // the config went back to blocking snapshots: read the table again the blocking way
        tracker.setIncremental(key, undefined);
        tracker.requestRefresh(key, "its incremental snapshot was not finished");
        continue;
      }
      this.#log.info("incremental snapshot resumed", { table: key, chunksDone: progress.chunks, rowsRead: progress.rowsRead, ...(progress.chunksEstimated === undefined ? {} : { chunksEstimated: progress.chunksEstimated }) });
      this.#incremental.enqueue(key);
    }
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
        if (this.#streamReopened) {
          await this.#prepareForNewStream();
          this.#streamReopened = false;
        }
        checkpoint = await this.#streamOnce(checkpoint, target);
        const reselect = this.#reselectDue;
        this.#reselectDue = false;
        if ((!this.#target.resyncDue && !reselect) || this.#o.signal?.aborted) return checkpoint;
        if (reselect) checkpoint = await this.#reselect(checkpoint);
        checkpoint = await this.#resync(checkpoint);
        this.#streamReopened = true;
        if (target !== undefined && checkpoint.position !== undefined && this.#reached(checkpoint.position, target)) return checkpoint;
      } catch (error) {
        if (error instanceof SourceStreamFailure) {
          checkpoint = await this.#reconnectSource(error.cause, this.#lastDurable(checkpoint));
          this.#streamReopened = true;
          continue;
        }
        const failure = tableFailure(error);
        const tracker = this.#target.tracker;
        if (failure === undefined || tracker.state(failure.table) === "failed") throw error;
        tracker.setState(failure.table, "failed", failure.message);
        // what was applied after the last durable checkpoint is replayed: so are the chunks applied since
        this.#incremental?.restart(this.#lastDurable(checkpoint).tables);
        this.#metrics.emit({ type: "table-state", table: failure.table, state: "failed", reason: failure.message });
        this.#metrics.emit({ type: "error", code: failure.code, retryable: false, table: failure.table });
        this.#log.error("table set aside after an error; the other tables go on", { table: failure.table, error: failure.message });
        // what was accepted since the last flush is gone with the failed flush; replay it without the failed table
        this.#target.dropPending();
        checkpoint = Object.freeze({ ...this.#lastDurable(checkpoint), tables: tracker.snapshot(), savedAt: new Date().toISOString() });
        await this.#target.flush(checkpoint);
        this.#streamReopened = true;
      }
    }
  }

  /**
   * Before the source's stream is opened again within a run: prepares the
   * tables that take streamed rows with their schemas now. A new stream
   * starts from the source's schemas of that moment and sends a schema
   * event only where a table's shape differs from them, so a column added
   * since the schema the target was last prepared with (e.g. by the older
   * shape of rows replayed before the stream stopped for a resync) would
   * otherwise be staged in that older shape: its values read NULL
   * (pg-redshift seed 18).
   */
  async #prepareForNewStream(): Promise<void> {
    if (this.#o.signal?.aborted === true) return;
    const tracker = this.#target.tracker;
    // a source still down is ridden out as the stream's own failure would be (the reconnect's back-off, then again)
    const schemas = await this.#retrying("introspect source", () => this.#o.source.introspect(this.#o.signal)).catch((error: unknown) => {
      throw new SourceStreamFailure(error);
    });
    for (const schema of schemas) {
      const state = tracker.state(tableKey(schema.table));
      if (state === "synced" || state === "snapshotting" || state === "resyncing") await this.#target.prepare(schema);
    }
  }

  /**
   * The stream stopped (everything applied is durable) to take a new table
   * selection: applies it, then reconciles the tables as a resuming run
   * does ({@link PipelineRun.#prepareTables}); the resync that follows reads
   * the tables newly selected.
   */
  async #reselect(checkpoint: PipelineCheckpoint): Promise<PipelineCheckpoint> {
    const change = this.#o.selectionChanges?.take();
    if (change === undefined || !(await change.apply())) return checkpoint;
    this.#log.info("table selection changed; reconciling the tables as a restart would");
    if (!(await this.#prepareTables())) return checkpoint;
    const reconciled = Object.freeze({ ...checkpoint, tables: this.#target.tracker.snapshot(), savedAt: new Date().toISOString() });
    await this.#target.flush(reconciled);
    return reconciled;
  }

  #lastDurable(fallback: PipelineCheckpoint): PipelineCheckpoint {
    return this.#target.durable ?? fallback;
  }

  /**
   * The source's stream failed. A transient failure (a restart, a dropped
   * connection) is ridden out: what was applied up to the last complete
   * batch is made durable, then the stream is reopened from that checkpoint
   * after a back-off, for as long as the retry policy allows. Anything else,
   * or an outage longer than the policy, ends the run with the error.
   */
  async #reconnectSource(error: unknown, durable: PipelineCheckpoint): Promise<PipelineCheckpoint> {
    const delayMs = this.#outage.failed(error, this.#o.signal);
    let checkpoint = durable;
    const latest = this.#latest;
    if (latest !== undefined && (this.#target.pendingRows > 0 || latest !== checkpoint.position)) checkpoint = await this.#flushAt(checkpoint, latest);
    this.#latest = undefined;
    await sleep(delayMs, this.#o.signal).catch(() => undefined);
    return checkpoint;
  }

  /** Waits for the sink work in flight, then makes everything applied durable at `position`. */
  async #flushAt(previous: PipelineCheckpoint, position: string): Promise<PipelineCheckpoint> {
    await this.#settle();
    const began = performance.now();
    const checkpoint = await this.#target.flushAt(previous, position, this.#acknowledge);
    this.#stages.commitMs += performance.now() - began;
    this.#stages.commits += 1;
    return checkpoint;
  }

  /**
   * Starts making everything applied so far durable at `position` and
   * returns that checkpoint at once: the commit runs after the write in
   * flight while the source decodes the next batch, and the order stays
   * sink flush, then checkpoint store, then the source's acknowledgement.
   */
  #flushLater(previous: PipelineCheckpoint, position: string): PipelineCheckpoint {
    const target = this.#target;
    const checkpoint = target.checkpointAt(previous, position);
    // what comes next counts towards the next flush
    target.dropPending();
    const stages = this.#stages;
    this.#defer(async () => {
      const began = performance.now();
      await target.makeDurable(checkpoint, this.#acknowledge);
      stages.commitMs += performance.now() - began;
      stages.commits += 1;
    });
    return checkpoint;
  }

  /** Queues sink work behind the work in flight; a failure surfaces at the next {@link PipelineRun.#settle}. */
  #defer(work: () => Promise<void>): void {
    const previous = this.#inFlight;
    const next = previous === undefined ? work() : previous.then(work);
    // observed by #settle; without this handler a failure would be an unhandled rejection until then
    next.catch(() => undefined);
    this.#inFlight = next;
  }

  /** Waits for the sink work in flight, rethrowing its failure. */
  async #settle(): Promise<void> {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return;
    const began = performance.now();
    try {
      await inFlight;
    } finally {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
      this.#stages.sinkWaitMs += performance.now() - began;
    }
  }

  async #streamOnce(start: PipelineCheckpoint, target: string | undefined): Promise<PipelineCheckpoint> {
    const { source, signal } = this.#o;
    const sinkSide = this.#target;
    let checkpoint = start;
    let latest: string | undefined;
    // this stream alone can be stopped too (a new table selection), whether or not the source is delivering
    const own = new AbortController();
    const stopOwn = (): void => own.abort();
    if (signal?.aborted === true) own.abort();
    else signal?.addEventListener("abort", stopOwn, { once: true });
    const iterator = source.stream(start.position ?? "", { signal: own.signal })[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<ChangeBatch>> | undefined;
    this.#latest = undefined;
    // a chunk between its watermarks when the stream stopped is read again (its window was not seen whole)
    this.#incremental?.restart();
    const stages = (this.#stages = newStages());
    const began = performance.now();
    try {
      const selection = this.#o.selectionChanges;
      for (;;) {
        if (signal?.aborted) break;
        // a new table selection: stop at a checkpoint (not inside a transaction's pending rows without one)
        if (selection?.pending === true && (latest !== undefined || sinkSide.pendingRows === 0)) {
          this.#reselectDue = true;
          // a read in flight would hold the iterator's end until the source delivers something: end it now
          // (what it would have delivered is read again from the checkpoint)
          next?.catch(() => undefined);
          own.abort();
          break;
        }
        // a failure of the source's stream is told apart from the sink's, which the retrying operation already rode out
        next ??= iterator.next().catch((error: unknown) => {
          throw new SourceStreamFailure(error);
        });
        // a timed flush needs a position to checkpoint; without one, wait for the source
        const waitMs = sinkSide.pendingRows > 0 && latest !== undefined ? this.#untilDue() : undefined;
        const asked = performance.now();
        const result = await raceTimeout(next, waitMs, signal, selection);
        stages.sourceWaitMs += performance.now() - asked;
        if (result === "timeout" || result === "aborted") {
          if (latest !== undefined) checkpoint = await this.#flushAt(checkpoint, latest);
          if (result === "aborted") break;
          continue;
        }
        next = undefined;
        if (result.done) break;
        const batch = result.value;
        stages.batches += 1;
        stages.events += batch.events.length;
        this.#outage.recovered();
        const incremental = this.#incremental;
        const failed = incremental?.takeFailure();
        if (failed !== undefined) throw failed;
        incremental?.observeAll(batch.events);
        await this.#apply(batch, checkpoint, latest);
        if (batch.checkpoint !== undefined) latest = this.#latest = batch.checkpoint;
        if (batch.markers !== undefined && batch.markers.length > 0 && incremental !== undefined) await this.#markers(batch.markers, incremental, checkpoint, latest);
        if (batch.tableChanges !== undefined && batch.tableChanges.length > 0) {
          await this.#settle();
          checkpoint = await this.#tableChanges.apply(batch.tableChanges, checkpoint, latest);
        }
        sinkSide.caughtUp = batch.caughtUp === true;
        const reachedTarget = target !== undefined && latest !== undefined && this.#reached(latest, target) && this.#incremental?.busy !== true;
        // (a watermark's batch is no idle source: a chunk's rows follow, and a commit per marker would slow the chunks down)
        const idleAdvance = sinkSide.pendingRows === 0 && latest !== undefined && latest !== checkpoint.position && batch.events.length === 0 && batch.markers === undefined;
        if ((reachedTarget || idleAdvance) && latest !== undefined) checkpoint = await this.#flushAt(checkpoint, latest);
        else if (latest !== undefined && !sinkSide.resyncDue && sinkSide.pendingRows > 0 && (sinkSide.full || this.#untilDue() === 0)) checkpoint = this.#flushLater(checkpoint, latest);
        if (reachedTarget) break;
        if (sinkSide.resyncDue && latest !== undefined) {
          checkpoint = await this.#flushAt(checkpoint, latest);
          break;
        }
      }
      if (latest !== undefined && latest !== checkpoint.position) checkpoint = await this.#flushAt(checkpoint, latest);
    } finally {
      try {
        // a failed write or commit in flight wins over what ended the loop: the run replays from the last durable checkpoint either way
        await this.#settle();
      } finally {
        signal?.removeEventListener("abort", stopOwn);
        await iterator.return?.();
        stages.wallMs = performance.now() - began;
        if (stages.events > 0) this.#log.info("stream stages", roundStages(stages));
      }
    }
    return checkpoint;
  }

  /**
   * Milliseconds until the pending changes are due to be flushed (0: now):
   * `maxWaitMs` after the first of them, or `lingerMs` after it once the
   * source has caught up, so that a steady stream of small transactions at
   * the head of the log lands within tens of milliseconds instead of waiting
   * for a full batch or a pause (which a steady stream never makes).
   */
  #untilDue(): number {
    const target = this.#target;
    const wait = target.caughtUp ? Math.min(this.#policy.lingerMs, this.#policy.maxWaitMs) : this.#policy.maxWaitMs;
    return Math.max(0, target.pendingSince + wait - Date.now());
  }

  async #apply(batch: ChangeBatch, checkpoint: PipelineCheckpoint, latest: string | undefined): Promise<void> {
    const target = this.#target;
    const tracker = target.tracker;
    let run: ChangeEvent[] = [];
    // per-table counts, handed to the target once per batch rather than once per event
    const tally = new BatchTally();
    // events of one table come in runs, each with the same table object: its key is made once per run
    let lastTable: ChangeEvent["table"] | undefined;
    let key = "";
    for (const event of batch.events) {
      if (event.table !== lastTable) {
        lastTable = event.table;
        key = tableKey(event.table);
      }
      const state = tracker.state(key);
      // a transaction committed before the table change is in the re-read; one committed after is applied again, by key
      if (state === "dropped-at-source" || this.#tableChanges.isReplaced(key, event.commitPosition ?? event.position)) continue;
      if (event.op === "schema") {
        tally.flushTo(target);
        // flush what came before so DDL never races rows of the older shape
        await this.#settle();
        await target.write(run);
        run = [];
        // (before this run's first batch checkpoint, at the checkpoint it resumed from: a replay of
        // those rows applies them again by key, while a sink that staged them in the older shape
        // would carry that shape on to the rows after the change)
        const flushPosition = latest ?? checkpoint.position;
        if (flushPosition !== undefined && target.pendingRows > 0) await this.#flushAt(checkpoint, flushPosition);
        this.#log.info("schema change", { table: tableKey(event.table), version: event.schema.version });
        const renamed = event.renamed !== undefined && Object.keys(event.renamed).length > 0 ? event.renamed : undefined;
        // (unless replayed after the re-read it caused)
        if (renamed !== undefined && this.#o.sink.capabilities.renames !== true && tracker.replacedAt(key) !== event.position) {
          // the target cannot rename in place: evolve it, then read the table again from this position on
          await target.prepare(event.schema);
          this.#tableChanges.requestRefresh(key, `columns renamed (${Object.entries(renamed).map(([to, from]) => `${from} to ${to}`).join(", ")}) and the target cannot rename`, event.position);
          continue;
        }
        await target.prepare(event.schema, renamed);
        // mappers see the schema event too (they track shapes); the sink got it through prepare
        await target.writeSchemaEvent(event);
        continue;
      }
      if (state === "failed" || state === "resync-required") continue;
      run.push(event);
      tally.add(key, event.op, event.op === "insert" || event.op === "update" ? estimateRowBytes(event.after) : 16, event.position);
      if (event.commitTime !== undefined) target.lastCommitTime = event.commitTime;
    }
    tally.flushTo(target);
    const rejected = batch.rejected;
    if (run.length === 0 && (rejected === undefined || rejected.length === 0)) return;
    // a batch whose mappers made schemas changes the target when it is written: map the next one after that
    if (this.#lastMadeSchemas) await this.#settle();
    // the CPU part of this write (mapping, the sink's folding) while the previous batch's write and commit are in flight
    const preparing = performance.now();
    const pending = target.prepareWrite(run);
    this.#lastMadeSchemas = pending.madeSchemas;
    const stages = this.#stages;
    stages.prepareMs += performance.now() - preparing;
    // one batch in flight at most: the previous one's write (and commit) first
    await this.#settle();
    this.#defer(async () => {
      const began = performance.now();
      await target.writePrepared(pending);
      stages.writeMs += performance.now() - began;
      // records the source could not decode: dead letters, like records a sink refuses
      if (rejected !== undefined && rejected.length > 0) await target.deadLetter({ accepted: 0, rejected });
    });
  }

  /**
   * Markers the stream met (after the batch's events were applied): a high
   * watermark's chunk is applied here, in stream order, and its progress
   * recorded (any checkpoint saved from now on is at or after the marker); a
   * resync asked of the running pipeline marks its tables, and the stream
   * stops at the next checkpoint to start their incremental snapshots.
   */
  async #markers(markers: readonly StreamMarker[], incremental: IncrementalSnapshotter, checkpoint: PipelineCheckpoint, latest: string | undefined): Promise<void> {
    for (const marker of markers) {
      const action = incremental.onMarker(marker);
      if (action === undefined) continue;
      if (action.kind === "rows") {
        if (action.events.length > 0) await this.#apply({ events: action.events }, checkpoint, latest);
        action.applied();
        continue;
      }
      const tracker = this.#target.tracker;
      const known = action.tables.filter((key) => tracker.state(key) !== undefined);
      const unknown = action.tables.filter((key) => tracker.state(key) === undefined);
      if (unknown.length > 0) this.#log.warn("resync signal names tables this pipeline does not replicate; ignored", { tables: unknown });
      if (known.length === 0) continue;
      this.#log.info("resync asked of the running pipeline", { tables: known, position: marker.position });
      for (const key of known) {
        tracker.setIncremental(key, undefined);
        tracker.setState(key, "resync-required", "resync requested");
        tracker.requestRefresh(key, "resync requested");
      }
      this.#target.resyncDue = true;
    }
  }

  #reached(position: string, target: string): boolean {
    const codec = this.#o.source.positions;
    return codec.compare(codec.parse(position), codec.parse(target)) >= 0;
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
 * Where one stream's time went, in milliseconds. The loop waits on the
 * source (`sourceWaitMs`: reading and decoding what the sink's work did not
 * hide) or on the sink (`sinkWaitMs`); the sink's work is `writeMs` (map,
 * fold, encode and apply) and `commitMs` (flush, checkpoint,
 * acknowledgement), which overlap with reading the source.
 */
interface StreamStages {
  wallMs: number;
  sourceWaitMs: number;
  sinkWaitMs: number;
  writeMs: number;
  /** Mapping and the sink's preparation of batches (`Sink.prepareWrite`), done while the previous batch's write was in flight. */
  prepareMs: number;
  commitMs: number;
  batches: number;
  events: number;
  commits: number;
}

function newStages(): StreamStages {
  return { wallMs: 0, sourceWaitMs: 0, sinkWaitMs: 0, writeMs: 0, prepareMs: 0, commitMs: 0, batches: 0, events: 0, commits: 0 };
}

function roundStages(stages: StreamStages): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(stages)) out[key] = Math.round(value);
  return out;
}

/** The table a non-retryable error is about, if it names one. */
function tableFailure(error: unknown): { table: string; message: string; code: string } | undefined {
  if (!(error instanceof ZeroEtlError) || error.retryable || error.table === undefined) return undefined;
  return { table: error.table, message: error.message, code: error.code };
}

/** Waits for `promise`, at most `ms` (no limit when undefined), until the signal aborts, or until `wake` calls (a "timeout"). */
async function raceTimeout<T>(
  promise: Promise<T>,
  ms: number | undefined,
  signal: AbortSignal | undefined,
  wake?: { listen(listener: () => void): () => void },
): Promise<T | "timeout" | "aborted"> {
  if (ms === undefined && signal === undefined && wake === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let unlisten: (() => void) | undefined;
  const contenders: Promise<T | "timeout" | "aborted">[] = [promise];
  if (ms !== undefined) contenders.push(new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), ms))));
  if (wake !== undefined) contenders.push(new Promise((resolve) => (unlisten = wake.listen(() => resolve("timeout")))));
  if (signal !== undefined) {
    if (signal.aborted) return "aborted";
    contenders.push(new Promise((resolve) => signal.addEventListener("abort", (onAbort = () => resolve("aborted")), { once: true })));
  }
  try {
    return await Promise.race(contenders);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    unlisten?.();
  }
}

/** A sink's COPY load of one table failed: the snapshot is taken again with that table read by rows. */
class CopyRefused extends Error {
  constructor(
    readonly table: string,
    override readonly cause: unknown,
  ) {
    super(`copy load of ${table} refused`, { cause });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
