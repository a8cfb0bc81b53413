import { randomBytes } from "node:crypto";
import type { ChangeEvent, InsertEvent } from "../change/change-event.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Logger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import { parseTableKey, tableKey } from "../schema/table-schema.js";
import type { TableSchema } from "../schema/table-schema.js";
import type { IncrementalChunk, IncrementalSnapshotSource, StreamMarker } from "../source/incremental-snapshot-source.js";
import type { TableStatus } from "../state/table-state.js";
import { isTableApplying } from "../state/table-state.js";
import type { RetryingOperation } from "./retrying-operation.js";
import { decodeMarker, encodeMarker } from "./stream-marker.js";
import type { TableTracker } from "./table-tracker.js";
import { WatermarkWindow } from "./watermark-window.js";

/** Default rows per incremental chunk. */
export const DEFAULT_INCREMENTAL_CHUNK_ROWS = 2048;

/** What {@link IncrementalSnapshotter} works with. */
export interface IncrementalSnapshotterOptions {
  readonly pipeline: string;
  readonly source: IncrementalSnapshotSource;
  /** Authenticates markers (`PipelineOptions.markerKey`): those it does not verify are ignored. */
  readonly markerKey: Uint8Array;
  /** The run's table states; read for progress, written only through {@link IncrementalSnapshotter.onMarker}'s result. */
  readonly tracker: () => TableTracker;
  /** The table's schema as the stream has it now (the chunk is read with it). */
  readonly schemaOf: (key: string) => TableSchema | undefined;
  readonly chunkRows: number;
  readonly retrying: RetryingOperation;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** What the stream must do about a marker it met (see {@link IncrementalSnapshotter.onMarker}). */
export type MarkerAction =
  /** Apply these rows (upserts of the chunk's table, positioned at the high watermark), then call `applied`. */
  | { readonly kind: "rows"; readonly table: string; readonly events: readonly InsertEvent[]; readonly applied: () => void }
  /** A resync of these tables was asked of the running pipeline. */
  | { readonly kind: "resync"; readonly tables: readonly string[] };

/** The chunk between its watermarks. */
interface OpenChunk {
  readonly table: string;
  readonly lowId: string;
  readonly highId: string;
  readonly window: WatermarkWindow;
  chunk?: IncrementalChunk;
  readonly settle: (outcome: "applied" | "again") => void;
  readonly settled: Promise<"applied" | "again">;
}

/**
 * Runs incremental snapshots beside the stream: a task reads the tables
 * queued with {@link IncrementalSnapshotter.enqueue}, one chunk at a time
 * (low watermark, keyset read, high watermark, wait for the stream to meet
 * the high watermark), while the stream hands it its events
 * ({@link observe}) and markers ({@link onMarker}). The progress it reports
 * (`TableStatus.incremental`) advances only when the stream applied a chunk
 * at its high watermark, so a checkpoint never claims a chunk whose rows are
 * not in it; after a crash the next run reads on from the last such chunk.
 */
export class IncrementalSnapshotter {
  readonly #o: IncrementalSnapshotterOptions;
  /** Identifies this run's watermarks: those of an earlier run, met again in a replay, are ignored. */
  readonly #nonce = randomBytes(6).toString("hex");
  readonly #queue: string[] = [];
  #sequence = 0;
  #open: OpenChunk | undefined;
  #task: Promise<void> | undefined;
  #failure: unknown;
  #stopped = false;
  /** What {@link #announce} last told the source. */
  #announced: string | undefined;
  /** Markers that named this pipeline without its key, ignored so far (the log names the first few, then every 1000th). */
  #unverified = 0;
  /** Aborted by {@link stop}: a source call of the reading task in flight (a marker its stream has not delivered yet) ends with the run. */
  readonly #stopping = new AbortController();
  /** The run's signal and {@link #stopping}, handed to the source's calls. */
  readonly #signal: AbortSignal;

  constructor(options: IncrementalSnapshotterOptions) {
    this.#o = options;
    this.#signal = options.signal === undefined ? this.#stopping.signal : AbortSignal.any([options.signal, this.#stopping.signal]);
  }

  /** Whether a queued table is still being read (its progress is not done). */
  get busy(): boolean {
    const tracker = this.#o.tracker();
    return this.#queue.some((key) => tracker.incremental(key) !== undefined && isTableApplying(tracker.state(key) ?? "failed"));
  }

  /**
   * The failure that ended the reading task, if one did, handed over once:
   * the run rethrows it (a table-level one sets that table aside, then
   * calls {@link restart}, which starts the task again for the other queued
   * tables).
   */
  takeFailure(): unknown {
    const failure = this.#failure;
    this.#failure = undefined;
    return failure;
  }

  /** Tells the source which tables are being read (`IncrementalSnapshotSource.reading`) when that changed. */
  #announce(): void {
    const reading = this.#o.source.reading;
    if (reading === undefined) return;
    const tracker = this.#o.tracker();
    const keys = this.#queue.filter((key) => tracker.incremental(key) !== undefined && isTableApplying(tracker.state(key) ?? "failed"));
    const text = keys.join("\u0000");
    if (text === this.#announced) return;
    this.#announced = text;
    reading.call(this.#o.source, keys.map((key) => this.#o.schemaOf(key)?.table ?? parseTableKey(key)));
  }

  /** Queues a table (its `TableStatus.incremental` is set) and starts the reading task if it is idle. */
  enqueue(key: string): void {
    if (!this.#queue.includes(key)) this.#queue.push(key);
    this.#announce();
    if (this.#task === undefined) {
      this.#task = this.#run().catch((error: unknown) => {
        if (!this.#stopped) this.#failure = error;
      });
    }
  }

  /** An event of the stream, in stream order (before it is applied). */
  observe(event: ChangeEvent): void {
    const open = this.#open;
    if (open === undefined || !open.window.isOpen) return;
    if (tableKey(event.table) === open.table) open.window.observe(event);
  }

  /** Events of the stream, in order. */
  observeAll(events: readonly ChangeEvent[]): void {
    const open = this.#open;
    if (open === undefined || !open.window.isOpen) return;
    for (const event of events) if (tableKey(event.table) === open.table) open.window.observe(event);
  }

  /**
   * A marker the stream met, after the events before it were observed and
   * applied. Returns what to do, or undefined for nothing (another
   * pipeline's marker, a watermark of an earlier run or a low watermark).
   */
  onMarker(marker: StreamMarker): MarkerAction | undefined {
    const decoded = decodeMarker(marker.content, this.#o.pipeline, this.#o.markerKey);
    if (decoded === undefined) return undefined;
    if (!decoded.verified) {
      this.#unverified++;
      // once per marker, and not a flood: whoever can write markers can write many
      if (this.#unverified <= 10 || this.#unverified % 1000 === 0) {
        this.#o.log.warn("marker in the change stream not written with this pipeline's key (forged, or written with another state directory's key); ignored", {
          kind: decoded.kind,
          position: marker.position,
          ignoredSoFar: this.#unverified,
        });
      }
      return undefined;
    }
    const content = decoded.content;
    if (content.kind === "resync") return { kind: "resync", tables: content.tables };
    const open = this.#open;
    if (open === undefined) return undefined;
    if (content.kind === "low") {
      if (content.id === open.lowId) open.window.open();
      return undefined;
    }
    if (content.id !== open.highId) return undefined;
    const chunk = open.chunk;
    const rows = chunk === undefined ? undefined : open.window.close(chunk.rows);
    this.#open = undefined;
    if (chunk === undefined || rows === undefined) {
      this.#o.log.info("incremental snapshot chunk spoiled inside its window (a truncate or schema change, or the stream restarted); reading it again", { table: open.table });
      open.settle("again");
      return undefined;
    }
    const tracker = this.#o.tracker();
    const before = tracker.incremental(open.table);
    if (before === undefined || !isTableApplying(tracker.state(open.table) ?? "failed")) {
      open.settle("again");
      return undefined;
    }
    const ref = this.#o.schemaOf(open.table)?.table ?? parseTableKey(open.table);
    const events: InsertEvent[] = new Array<InsertEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = { op: "insert", table: ref, after: rows[i] as InsertEvent["after"], position: marker.position };
    return {
      kind: "rows",
      table: open.table,
      events,
      applied: () => {
        const chunks = before.chunks + 1;
        const rowsRead = before.rowsRead + chunk.rows.length;
        const progress = { ...before, chunks, rowsRead, ...(chunk.cursor === undefined ? {} : { cursor: chunk.cursor }) };
        this.#o.metrics.emit({
          type: "snapshot-progress",
          table: open.table,
          rowsRead,
          ...(before.rowsEstimated === undefined ? {} : { rowsEstimated: Math.max(before.rowsEstimated, rowsRead) }),
          done: chunk.last,
        });
        this.#o.log.info("incremental snapshot chunk applied", {
          table: open.table,
          chunk: chunks,
          ...(before.chunksEstimated === undefined ? {} : { chunksEstimated: before.chunksEstimated }),
          rows: chunk.rows.length,
          emitted: events.length,
          changedInWindow: chunk.rows.length - events.length,
          last: chunk.last,
        });
        if (chunk.last) {
          tracker.setIncremental(open.table, undefined);
          tracker.setState(open.table, "synced");
          this.#announce();
          this.#o.log.info("incremental snapshot finished", { table: open.table, chunks, rowsRead });
        } else tracker.setIncremental(open.table, progress);
        open.settle("applied");
      },
    };
  }

  /**
   * The stream restarts (a reconnect, a replay after a table was set
   * aside): the chunk between its watermarks is read again, after new ones.
   * With `durable`, each queued table's progress goes back to what that
   * checkpoint says (what was applied after it is replayed or read again).
   */
  restart(durable?: Readonly<Record<string, TableStatus>>): void {
    const open = this.#open;
    this.#open = undefined;
    open?.settle("again");
    if (durable === undefined) return;
    const tracker = this.#o.tracker();
    for (const key of this.#queue) {
      const progress = durable[key]?.incremental;
      if (progress !== undefined) tracker.setIncremental(key, progress);
    }
    // the task may have ended on a failure the run just handled: go on with the tables still queued
    const next = this.#queue[0];
    if (next !== undefined && this.#task === undefined && !this.#stopped) this.enqueue(next);
  }

  /** Stops the reading task (the run ends); what was not applied is read by the next run. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#open?.settle("again");
    this.#open = undefined;
    await this.#task;
  }

  async #run(): Promise<void> {
    const { source, retrying, log } = this.#o;
    const signal = this.#signal;
    try {
      while (!this.#stopped && signal?.aborted !== true) {
        const key = this.#queue[0];
        if (key === undefined) break;
        const tracker = this.#o.tracker();
        const progress = tracker.incremental(key);
        const schema = this.#o.schemaOf(key);
        if (progress === undefined || schema === undefined || !isTableApplying(tracker.state(key) ?? "failed")) {
          // finished, set aside or gone meanwhile
          this.#queue.shift();
          this.#announce();
          continue;
        }
        if (progress.chunks === 0 && progress.rowsEstimated === undefined && source.estimateRows !== undefined) {
          const estimate = source.estimateRows.bind(source);
          const rows = await retrying(`estimate rows of ${key}`, () => estimate(schema, signal));
          if (rows !== undefined) tracker.setIncremental(key, { ...progress, rowsEstimated: rows, chunksEstimated: Math.max(1, Math.ceil(rows / this.#o.chunkRows)) });
        }
        if (progress.chunks === 0 && progress.cursor === undefined) log.info("incremental snapshot started", { table: key, chunkRows: this.#o.chunkRows });
        await this.#readChunk(key, schema);
      }
    } finally {
      this.#task = undefined;
    }
    // more may have been queued while the last chunk settled
    if (!this.#stopped && this.#queue.length > 0 && signal?.aborted !== true) this.enqueue(this.#queue[0] as string);
  }

  /** One chunk: low watermark, read, high watermark, then wait for the stream to apply (or refuse) it. */
  async #readChunk(key: string, schema: TableSchema): Promise<void> {
    const { source, retrying, pipeline } = this.#o;
    const signal = this.#signal;
    if (schema.primaryKey.length === 0) throw new ZeroEtlError(`${key} has no primary key: it cannot be snapshotted incrementally`, { code: "internal", table: key });
    const id = `${this.#nonce}-${++this.#sequence}`;
    let settle: (outcome: "applied" | "again") => void = () => undefined;
    const settled = new Promise<"applied" | "again">((resolve) => (settle = resolve));
    const open: OpenChunk = { table: key, lowId: `${id}l`, highId: `${id}h`, window: new WatermarkWindow(schema.primaryKey), settle, settled };
    this.#open = open;
    await retrying("write low watermark", () => source.emitMarker(encodeMarker({ pipeline, kind: "low", id: open.lowId }, this.#o.markerKey), signal));
    const after = this.#o.tracker().incremental(key)?.cursor;
    const chunk = await retrying(`read chunk of ${key}`, () =>
      source.readChunk({ schema, limit: this.#o.chunkRows, ...(after === undefined ? {} : { after }), ...(signal === undefined ? {} : { signal }) }),
    );
    if (this.#open !== open) return;
    open.chunk = chunk;
    await retrying("write high watermark", () => source.emitMarker(encodeMarker({ pipeline, kind: "high", id: open.highId }, this.#o.markerKey), signal));
    await settled;
  }
}
