import { randomBytes } from "node:crypto";
import type { Logger, SnapshotCopyExport, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { Consumer, FetchIsolationLevels, stringDeserializers, type MessagesStream } from "@platformatic/kafka";

/** A record to publish: value JSON, to an explicit partition. */
export interface WorkRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: string;
}

/** The CTID ranges `[from, to)` of a distributed table: `chunkBlocks` each, the last one open-ended (rows in blocks added later). */
export function planWorkRanges(blocks: number, chunkBlocks: number): { readonly from: number; readonly to: number | undefined }[] {
  const ranges: { from: number; to: number | undefined }[] = [];
  for (let from = 0; from + chunkBlocks < blocks; from += chunkBlocks) ranges.push({ from, to: from + chunkBlocks });
  ranges.push({ from: ranges.length * chunkBlocks, to: undefined });
  return ranges;
}

/** What the completions of one batch said so far. */
export interface BatchState {
  readonly done: Set<number>;
  rows: number;
  failure: Error | undefined;
  wake: (() => void) | undefined;
  readonly progress: ((rows: number) => void) | undefined;
}

/** How to reach the completion topic. */
export interface CompletionTopicAccess {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
}

/**
 * Reads `<prefix>.zeroetl-snapshot-done` for the whole run (one consumer,
 * joined once, from the topic's start, so no completion published before a
 * batch was watched is missed) and routes each completion to the batch it
 * names; completions of other batches (earlier runs) are ignored.
 */
export class SnapshotDoneWatcher {
  readonly #access: CompletionTopicAccess;
  readonly #batches = new Map<string, BatchState>();
  #consumer: Consumer<string, string, string, string> | undefined;
  #stream: MessagesStream<string, string, string, string> | undefined;
  #failure: Error | undefined;

  constructor(access: CompletionTopicAccess) {
    this.#access = access;
  }

  async #started(): Promise<void> {
    if (this.#stream !== undefined) return;
    const consumer = new Consumer<string, string, string, string>({
      clientId: this.#access.clientId,
      groupId: `zeroetl-snapshot-done-${randomBytes(8).toString("hex")}`,
      bootstrapBrokers: [...this.#access.brokers],
      deserializers: stringDeserializers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 200,
    });
    this.#consumer = consumer;
    const stream = await consumer.consume({ topics: [this.#access.topic], mode: "earliest", autocommit: false });
    this.#stream = stream;
    stream.on("data", (message: { key: string | undefined; value: string | undefined }) => {
      const state = message.key === undefined ? undefined : this.#batches.get(message.key);
      if (state === undefined || message.value === undefined) return;
      try {
        const record = JSON.parse(message.value) as { item?: unknown; status?: unknown; rows?: unknown; worker?: unknown };
        if (typeof record.item !== "number" || state.done.has(record.item)) return;
        if (record.status === "stale") {
          state.failure = new Error(`worker ${String(record.worker)} could not import the snapshot`);
        } else {
          state.done.add(record.item);
          state.rows += typeof record.rows === "number" ? record.rows : 0;
          state.progress?.(state.rows);
        }
      } catch {
        return; // not a completion record
      }
      state.wake?.();
    });
    stream.on("error", (error: unknown) => {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      for (const state of this.#batches.values()) state.wake?.();
    });
  }

  /** Starts following `batch` (before its items are published). */
  async watch(batch: string, progress?: (rows: number) => void): Promise<BatchState> {
    await this.#started();
    const state: BatchState = { done: new Set(), rows: 0, failure: undefined, wake: undefined, progress };
    this.#batches.set(batch, state);
    return state;
  }

  /** Resolves when `items` items of the batch are done; rejects on a `stale` completion of it, a consumer failure, or `signal`. */
  async until(batch: string, state: BatchState, items: number, onWait: () => void, signal?: AbortSignal): Promise<number> {
    try {
      while (state.done.size < items) {
        if (state.failure !== undefined) throw state.failure;
        if (this.#failure !== undefined) throw this.#failure;
        if (signal?.aborted === true) throw new ZeroEtlError("aborted while waiting for snapshot chunks", { code: "aborted" });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          state.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        state.wake = undefined;
        onWait();
      }
      return state.rows;
    } finally {
      this.#batches.delete(batch);
    }
  }

  async close(): Promise<void> {
    await this.#stream?.close().catch(() => undefined);
    const consumer = this.#consumer;
    this.#stream = undefined;
    this.#consumer = undefined;
    if (consumer !== undefined) await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

/** Options of {@link distributeSnapshot}. */
export interface DistributeOptions {
  readonly workTopic: string;
  readonly workPartitions: number;
  /** Blocks (8 KiB pages) per work item. */
  readonly chunkBlocks: number;
  readonly watcher: SnapshotDoneWatcher;
  /** Publishes the items, all or none (one Kafka transaction). */
  readonly publish: (records: readonly WorkRecord[]) => Promise<void>;
  readonly logger: Logger;
  readonly progress?: (rows: number) => void;
  readonly signal?: AbortSignal;
}

const WAIT_LOG_MS = 10_000;

/**
 * Hands a table's snapshot out as work items: one per CTID range of
 * `chunkBlocks` blocks, spread round-robin over the work topic's partitions,
 * each naming the exported snapshot, the table's OID, its schema as the
 * target prepared it and the range. Workers (Kafka sources with
 * `distributedSnapshot`) claim them by partition assignment and publish a
 * completion to the done topic once the rows are durable in their target;
 * resolves with the rows they applied when every item is done. Throws when a
 * worker reports that it could not import the snapshot while this run still
 * holds it (it reads another database than this run's source).
 */
export async function distributeSnapshot(schema: TableSchema, exported: SnapshotCopyExport, options: DistributeOptions): Promise<number> {
  const key = tableKey(schema.table);
  const batch = randomBytes(8).toString("hex");
  const ranges = planWorkRanges(exported.blocks, options.chunkBlocks);
  try {
    const state = await options.watcher.watch(batch, options.progress);
    const records = ranges.map((range, item) => ({
      topic: options.workTopic,
      partition: item % options.workPartitions,
      key: `${batch}:${item}`,
      value: JSON.stringify({ batch, item, snapshot: exported.snapshot, relationOid: exported.relationOid, schema, fromBlock: range.from, toBlock: range.to ?? null }),
    }));
    await options.publish(records);
    options.logger.info("kafka: snapshot chunks published", { table: key, batch, items: records.length, blocks: exported.blocks });
    let lastLog = Date.now();
    const rows = await options.watcher
      .until(
        batch,
        state,
        records.length,
        () => {
          if (Date.now() - lastLog < WAIT_LOG_MS) return;
          lastLog = Date.now();
          options.logger.info("kafka: waiting for snapshot chunks; workers need source.distributedSnapshot", { table: key, batch, done: state.done.size, items: records.length });
        },
        options.signal,
      )
      .catch((error: unknown) => {
        if (error instanceof ZeroEtlError || !(error instanceof Error) || !error.message.includes("could not import")) throw error;
        throw new ZeroEtlError(
          `kafka: ${error.message} ${exported.snapshot} of ${key} although this run holds it: check that its source.distributedSnapshot.sourceUrl points at this run's source database`,
          { code: "config-invalid", table: key },
        );
      });
    options.logger.info("kafka: snapshot chunks done", { table: key, batch, items: records.length, rows });
    return rows;
  } catch (error) {
    throw error instanceof ZeroEtlError ? error : new ZeroEtlError(`kafka: distributing the snapshot of ${key} failed: ${error instanceof Error ? error.message : String(error)}`, { code: "sink-failed", retryable: true, cause: error });
  }
}
