import type { SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { SnapshotCopy, SnapshotCopyPredicate } from "../change/snapshot-copy.js";
import type { CheckpointStore, PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { DeadLetterQueue } from "../dlq/dead-letter-queue.js";
import { toDeadLetter } from "../dlq/dead-letter-queue.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Mapper, MapperContext } from "../mapper/mapper.js";
import type { Logger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import type { PositionCodec } from "../position/position-codec.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import { estimateRowBytes } from "../schema/value.js";
import type { PreparedWrite, Sink, WriteReceipt } from "../sink/sink.js";
import type { TableStatus } from "../state/table-state.js";
import type { BatchPolicy } from "./batch-policy.js";
import type { RetryingOperation } from "./retrying-operation.js";
import { TableTracker } from "./table-tracker.js";
import { failuresMarked } from "./source-outage.js";

/** A batch mapped (and maybe prepared by the sink) by {@link PipelineTarget.prepareWrite}, not written yet. */
export interface PendingWrite {
  readonly mapped: readonly ChangeEvent[];
  /** Whether the mappers made schemas (the target changes when it is written: the next batch waits for that). */
  readonly madeSchemas: boolean;
  /** The sink's preparation, when it offers one and no schema came out of the mappers. */
  readonly prepared?: PreparedWrite;
}

/** What a {@link PipelineTarget} is made of. */
export interface PipelineTargetOptions {
  readonly name: string;
  readonly sink: Sink;
  readonly mapper: Mapper;
  readonly checkpoints: CheckpointStore;
  readonly deadLetters?: DeadLetterQueue;
  /** The source's positions, to keep checkpoints moving forward and to expire table-change guards. */
  readonly positions: PositionCodec<unknown>;
  readonly policy: BatchPolicy;
  readonly retrying: RetryingOperation;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
  /** Whether a table the sink refused asks for a resync at once (`PipelineOptions.autoResync`). */
  readonly autoResync: boolean;
}

/**
 * The target side of one pipeline run and the tables' state: prepares target
 * tables, writes snapshot chunks and change events through the mappers,
 * sends what the sink rejects to the dead-letter queue, counts what is
 * pending, and makes it durable (`sink.flush` → checkpoint store →
 * `source.acknowledge`, by way of the caller's acknowledge).
 */
export class PipelineTarget {
  readonly #o: PipelineTargetOptions;
  readonly context: MapperContext;
  /** Row events and snapshot rows applied in this run, by source table. */
  readonly rowsThisRun: Record<string, number> = {};
  /** Per-table state; replaced when a run starts over (a resumed checkpoint, a restarted snapshot). */
  tracker = new TableTracker();
  /** Source table key -> its primary key, for dead letters. */
  readonly #keys = new Map<string, readonly string[]>();
  /** Source table key -> its schema as last prepared, to find its target tables when it is dropped. */
  readonly #schemas = new Map<string, TableSchema>();
  /** Target table key -> the schema last passed to `sink.prepare`. */
  readonly #prepared = new Map<string, TableSchema>();
  deadLetters = 0;
  pendingRows = 0;
  #pendingBytes = 0;
  /** When the first pending change was accepted (ms since epoch). */
  pendingSince = 0;
  /** Commit time of the newest applied change, for lag. */
  lastCommitTime: number | undefined;
  /** Whether the last batch said the source had nothing newer. */
  caughtUp = false;
  /** The last checkpoint made durable in this run. */
  durable: PipelineCheckpoint | undefined;
  /** Tables whose COPY load the sink refused in this run: their snapshot is read again by rows. */
  readonly copyRefused = new Set<string>();
  /** A table asked for a re-read (or was refused with `autoResync` on): stream until the next checkpoint, then resync. */
  resyncDue = false;

  constructor(options: PipelineTargetOptions) {
    this.#o = options;
    const sink = options.sink;
    this.context = sink.targetSchema === undefined ? { sink: sink.capabilities } : { sink: sink.capabilities, targetSchema: (table) => sink.targetSchema?.(table) };
  }

  /** Whether pending rows or bytes reached the batch policy. */
  get full(): boolean {
    return this.pendingRows >= this.#o.policy.maxRows || this.#pendingBytes >= this.#o.policy.maxBytes;
  }

  /** Remembers a source table's key and schema without preparing its target (a table to be read later). */
  remember(schema: TableSchema): void {
    const key = tableKey(schema.table);
    this.#keys.set(key, schema.primaryKey);
    this.#schemas.set(key, schema);
  }

  /** The source table's schema as last prepared or remembered. */
  schemaOf(key: string): TableSchema | undefined {
    return this.#schemas.get(key);
  }

  /** The target tables of a source table. */
  targetsOf(schema: TableSchema): readonly TableSchema[] {
    return this.#o.mapper.mapSchema(schema, this.context);
  }

  /**
   * Creates or evolves the target tables of a source table. When the sink
   * refuses (a schema change it cannot take), the table is set aside as
   * `resync-required` and the others go on; its changes are skipped until a
   * resync.
   */
  async prepare(schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<readonly TableSchema[]> {
    const key = tableKey(schema.table);
    this.remember(schema);
    const mapped = this.targetsOf(schema);
    try {
      for (const target of mapped) await this.prepareTarget(target, renamesFor(target, renamed));
    } catch (error) {
      if (!isRefusal(error)) throw error;
      this.tracker.setState(key, "resync-required", error.message);
      this.#o.metrics.emit({ type: "table-state", table: key, state: "resync-required", reason: error.message });
      this.#o.metrics.emit({ type: "error", code: error.code, retryable: false, table: key });
      this.#o.log.error("schema change refused by the target; table set aside until a resync", { table: key, error: error.message, autoResync: this.#o.autoResync });
      if (this.#o.autoResync) this.resyncDue = true;
    }
    return mapped;
  }

  /** Prepares a target table unless this exact schema was prepared already. */
  async prepareTarget(schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<void> {
    const key = tableKey(schema.table);
    // a rename is passed on even when the schema itself was prepared already (e.g. introspected on resume)
    if (this.#prepared.get(key) === schema && renamed === undefined) return;
    await this.#o.retrying(`prepare ${key}`, () => (renamed === undefined ? this.#o.sink.prepare(schema) : this.#o.sink.prepare(schema, { renamed })));
    this.#prepared.set(key, schema);
  }

  /** Records that the sink made `schema` anew (a replaced table), so it is not prepared again. */
  prepared(schema: TableSchema): void {
    this.#prepared.set(tableKey(schema.table), schema);
  }

  /** Forgets what was prepared for a target table (it was dropped). */
  unprepared(targetKey: string): void {
    this.#prepared.delete(targetKey);
  }

  /** Empties a target table before its rows are read (again). */
  async reset(target: TableSchema): Promise<void> {
    await this.#o.retrying("reset table", () => this.#o.sink.resetTable(target.table));
  }

  /** A resync reads the table again: the mappers forget their state of it (`Mapper.resetTable`). */
  resetMapperState(table: TableRef): void {
    this.#o.mapper.resetTable?.(table);
  }

  /** Whether a table's rows are skipped until a resync (set aside by a refusal or an error). */
  isSetAside(key: string): boolean {
    const state = this.tracker.state(key);
    return state === "failed" || state === "resync-required";
  }

  /** Writes a snapshot chunk through the mappers (preparing and resetting a table first met here). */
  async writeChunk(chunk: SnapshotChunk): Promise<void> {
    const key = tableKey(chunk.table);
    if (!this.#keys.has(key)) {
      // a table the source only discovered while reading (e.g. a routed DynamoDB entity)
      this.tracker.setState(key, "snapshotting");
      const targets = await this.prepare(chunk.schema);
      if (!this.isSetAside(key)) for (const target of targets) await this.reset(target);
    }
    if (this.isSetAside(key)) return;
    // rows the source could not decode: dead-lettered, the snapshot goes on
    if (chunk.rejected !== undefined && chunk.rejected.length > 0) await this.deadLetter({ accepted: 0, rejected: chunk.rejected });
    const mapper = this.#o.mapper;
    const mapped = mapper.mapChunk ? mapper.mapChunk(chunk, this.context) : [chunk];
    for (const out of mapped) {
      await this.prepareTarget(out.schema);
      const receipt = await this.#o.retrying(`write snapshot of ${key}`, () => this.#o.sink.writeSnapshot(out));
      await this.deadLetter(receipt);
    }
    let bytes = 0;
    for (const row of chunk.rows) bytes += estimateRowBytes(row);
    this.count(key, chunk.rows.length, bytes, "snapshot");
    this.tracker.addRows(key, chunk.rows.length);
    this.#o.metrics.emit({
      type: "snapshot-progress",
      table: key,
      rowsRead: chunk.rowsRead,
      ...(chunk.rowsEstimated === undefined ? {} : { rowsEstimated: chunk.rowsEstimated }),
      done: chunk.last,
    });
  }

  /**
   * The initial snapshot's `SnapshotOptions.copy`: a table may come as COPY
   * streams when the sink loads them (`copySnapshot`, `acceptsCopy`) and the
   * mappers pass its rows through unchanged; undefined when the sink cannot.
   */
  copyPredicate(): SnapshotCopyPredicate | undefined {
    const sink = this.#o.sink;
    if (sink.copySnapshot === undefined || sink.acceptsCopy === undefined) return undefined;
    return (schema, columns) => {
      const key = tableKey(schema.table);
      if (!this.#keys.has(key) || this.isSetAside(key) || this.copyRefused.has(key) || this.#o.mapper.passesRowsThrough?.(schema, this.context) !== true) return false;
      const mapped = this.targetsOf(schema);
      const only = mapped[0];
      if (mapped.length !== 1 || only === undefined || tableKey(only.table) !== key) return false;
      return sink.acceptsCopy?.(only, columns) === true;
    };
  }

  /**
   * Loads a table's snapshot from COPY streams (`SnapshotChunk.copy`); the
   * caller flushed first, so the table's reset is committed. Not retried
   * here: parts already committed would be loaded twice. A failure of the
   * source's reads is marked as such, so the runtime takes the snapshot again
   * (resetting the table) as for any source failure during a snapshot.
   */
  async copyChunk(chunk: SnapshotChunk, copy: SnapshotCopy, signal?: AbortSignal): Promise<void> {
    const key = tableKey(chunk.table);
    const load = this.#o.sink.copySnapshot;
    if (load === undefined) throw new ZeroEtlError(`a COPY snapshot of ${key} reached a sink that cannot load one`, { code: "internal", table: key });
    const counted = { bytes: 0 };
    const marked: SnapshotCopy = { ...copy, parts: copy.parts.map((part) => ({ read: (signal?: AbortSignal) => bytesCounted(failuresMarked(part.read(signal)), counted) })) };
    const progress = (rowsRead: number): void => {
      this.#o.metrics.emit({ type: "snapshot-progress", table: key, rowsRead, ...(chunk.rowsEstimated === undefined ? {} : { rowsEstimated: Math.max(chunk.rowsEstimated, rowsRead) }), done: false });
    };
    const rows = await load.call(this.#o.sink, chunk.schema, marked, {
      progress,
      ...(signal === undefined ? {} : { signal }),
      ...(chunk.rowsEstimated === undefined ? {} : { rowsEstimated: chunk.rowsEstimated }),
    });
    // committed already: counted for the run's totals and metrics, not towards the next flush
    this.rowsThisRun[key] = (this.rowsThisRun[key] ?? 0) + rows;
    // the COPY stream's own bytes: the closest to the row bytes the other paths estimate
    this.#o.metrics.emit({ type: "rows", table: key, op: "snapshot", rows, bytes: counted.bytes });
    this.tracker.addRows(key, rows);
    this.#o.metrics.emit({ type: "snapshot-progress", table: key, rowsRead: rows, ...(chunk.rowsEstimated === undefined ? {} : { rowsEstimated: Math.max(chunk.rowsEstimated, rows) }), done: true });
  }

  /** Maps and writes change events, preparing target schemas that mappers changed on the way. */
  async write(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#writeWithSchemas(this.#o.mapper.mapEvents(events, this.context));
  }

  /**
   * The first half of {@link write}, done while the previous batch's write
   * may still be in flight: maps the events and, when the sink offers
   * `prepareWrite` and no mapper made a schema on the way, has the sink do
   * the CPU part of their write now. {@link writePrepared} does the rest.
   * The caller makes sure no target schema changes in between and that a
   * batch whose mappers made schemas is written before the next is mapped
   * ({@link PendingWrite.madeSchemas}).
   */
  prepareWrite(events: readonly ChangeEvent[]): PendingWrite {
    const mapped = events.length === 0 ? [] : this.#o.mapper.mapEvents(events, this.context);
    let madeSchemas = false;
    for (const event of mapped) if (event.op === "schema") madeSchemas = true;
    const sink = this.#o.sink;
    if (madeSchemas || mapped.length === 0 || sink.prepareWrite === undefined) return { mapped, madeSchemas };
    return { mapped, madeSchemas, prepared: sink.prepareWrite({ events: mapped }) };
  }

  /** Writes a batch {@link prepareWrite} prepared. */
  async writePrepared(pending: PendingWrite): Promise<void> {
    const prepared = pending.prepared;
    if (prepared === undefined) return this.#writeWithSchemas(pending.mapped);
    const receipt = await this.#o.retrying("write changes", () => prepared.write());
    await this.deadLetter(receipt);
  }

  async #writeWithSchemas(mapped: readonly ChangeEvent[]): Promise<void> {
    // mappers may change target schemas themselves (an unnested attribute
    // seen for the first time): prepare the sink before the rows that need it
    let start = 0;
    for (let i = 0; i < mapped.length; i++) {
      const event = mapped[i];
      if (event?.op !== "schema") continue;
      await this.writeMapped(mapped.slice(start, i));
      await this.prepareTarget(event.schema);
      start = i + 1;
    }
    await this.writeMapped(start === 0 ? mapped : mapped.slice(start));
  }

  /** Passes a source schema event to the mappers (they track shapes) and writes what they make of it besides schemas. */
  async writeSchemaEvent(event: ChangeEvent): Promise<void> {
    const mapped = this.#o.mapper.mapEvents([event], this.context).filter((e) => e.op !== "schema");
    if (mapped.length > 0) await this.writeMapped(mapped);
  }

  /** Writes events the mappers already made. */
  async writeMapped(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const receipt = await this.#o.retrying("write changes", () => this.#o.sink.write({ events }));
    await this.deadLetter(receipt);
  }

  /** Counts accepted rows towards the batch policy, the run's totals and the `rows` metric. */
  count(table: string, rows: number, bytes: number, op: ChangeEvent["op"] | "snapshot"): void {
    if (this.pendingRows === 0) this.pendingSince = Date.now();
    this.pendingRows += rows;
    this.#pendingBytes += bytes;
    this.rowsThisRun[table] = (this.rowsThisRun[table] ?? 0) + rows;
    this.#o.metrics.emit({ type: "rows", table, op, rows, bytes });
  }

  /** Forgets what was accepted since the last flush (a failed flush lost it; it is replayed). */
  dropPending(): void {
    this.pendingRows = 0;
    this.#pendingBytes = 0;
  }

  /** Sends what a sink (or the source) rejected to the dead-letter queue, with the key and the reason. */
  async deadLetter(receipt: WriteReceipt): Promise<void> {
    if (receipt.rejected.length === 0) return;
    const letters = receipt.rejected.map((r) => toDeadLetter(this.#o.name, r.event, this.#keys.get(tableKey(r.event.table)) ?? [], r.reason));
    this.deadLetters += letters.length;
    for (const letter of letters) {
      this.#o.log.warn("record dead-lettered", { table: letter.table, op: letter.op, position: letter.position, reason: letter.reason });
      this.#o.metrics.emit({ type: "dead-letter", table: letter.table, count: 1 });
    }
    await this.#o.deadLetters?.put(letters);
  }

  /**
   * Makes everything applied durable as a streaming checkpoint at
   * `position`, which must not be before `previous`'s, and acknowledges it
   * to the source through `acknowledge`.
   */
  async flushAt(previous: PipelineCheckpoint, position: string, acknowledge: (position: string) => Promise<void>): Promise<PipelineCheckpoint> {
    const checkpoint = this.checkpointAt(previous, position);
    await this.flush(checkpoint, acknowledge);
    return checkpoint;
  }

  /**
   * The streaming checkpoint at `position` for what was accepted so far (the
   * tables' state as of now); throws when `position` is before
   * `previous`'s. Pure apart from reading the tracker: making it durable is
   * {@link makeDurable}'s job.
   */
  checkpointAt(previous: PipelineCheckpoint, position: string): PipelineCheckpoint {
    const codec = this.#o.positions;
    if (previous.position !== undefined && codec.compare(codec.parse(position), codec.parse(previous.position)) < 0) {
      throw new ZeroEtlError(`checkpoint would move backwards from ${previous.position} to ${position}`, { code: "position-regressed" });
    }
    return Object.freeze({
      pipeline: this.#o.name,
      phase: "streaming",
      position,
      tables: this.#tablesAt(position),
      savedAt: new Date().toISOString(),
    });
  }

  /**
   * `sink.flush(checkpoint)`, then the checkpoint store, then (for a
   * streaming checkpoint, with `acknowledge`) the source; the pending counts
   * start again from zero.
   */
  async flush(checkpoint: PipelineCheckpoint, acknowledge?: (position: string) => Promise<void>): Promise<void> {
    await this.makeDurable(checkpoint, acknowledge);
    this.dropPending();
  }

  /**
   * {@link flush} without touching the pending counts: for a flush that runs
   * while the next changes are already being accepted (the caller dropped
   * the counts of what this checkpoint covers when it started it).
   */
  async makeDurable(checkpoint: PipelineCheckpoint, acknowledge?: (position: string) => Promise<void>): Promise<void> {
    const receipt = await this.#o.retrying("flush sink", () => this.#o.sink.flush(checkpoint));
    // before the checkpoint: a crash in between replays the records, and the sink rejects them again
    if (receipt !== undefined && receipt.rejected.length > 0) await this.deadLetter({ accepted: 0, rejected: receipt.rejected });
    await this.#o.retrying("save checkpoint", () => this.#o.checkpoints.save(checkpoint));
    this.durable = checkpoint;
    // only once durable: a replay within this run still starts before it
    for (const [key, status] of Object.entries(checkpoint.tables)) if (status.replacedAt === undefined) this.tracker.clearReplacedAt(key);
    if (acknowledge !== undefined && checkpoint.position !== undefined && checkpoint.phase === "streaming") {
      const position = checkpoint.position;
      await this.#o.retrying("acknowledge source", () => acknowledge(position));
    }
    this.#o.metrics.emit({ type: "checkpoint", position: checkpoint.position ?? "", tables: checkpoint.tables });
    // lag: how old the newest applied change is, or 0 when the source had nothing newer
    const lag = this.caughtUp || this.lastCommitTime === undefined ? 0 : Math.max(0, (Date.now() - this.lastCommitTime) / 1000);
    this.#o.metrics.emit({ type: "lag", seconds: lag });
    this.#o.log.debug("checkpoint saved", { position: checkpoint.position, rows: this.pendingRows });
  }

  /**
   * The tables for a checkpoint at `position`: a table change at or before
   * it can no longer be replayed from there, so its `replacedAt` guard is
   * left out (a table still waiting for its re-read keeps it).
   */
  #tablesAt(position: string): PipelineCheckpoint["tables"] {
    const tables = this.tracker.snapshot();
    const codec = this.#o.positions;
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
}

/** Whether an error is the target refusing a table (a table-level decision), not a failure to retry or give up on. */
export function isRefusal(error: unknown): error is ZeroEtlError {
  return error instanceof ZeroEtlError && !error.retryable && error.code !== "aborted" && error.code !== "connection-failed";
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

/** Passes a COPY part's blocks through, adding their sizes to `counter.bytes`. */
async function* bytesCounted(blocks: AsyncIterable<Uint8Array>, counter: { bytes: number }): AsyncIterable<Uint8Array> {
  for await (const block of blocks) {
    counter.bytes += block.byteLength;
    yield block;
  }
}
