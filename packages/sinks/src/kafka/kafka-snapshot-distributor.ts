import { randomBytes } from "node:crypto";
import type { Logger, SnapshotCopyExport, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { Consumer, FetchIsolationLevels, stringDeserializers } from "@platformatic/kafka";

/** A record to publish: value JSON, to an explicit partition. */
export interface WorkRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: string;
}

/** Options of {@link distributeSnapshot}. */
export interface DistributeOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly workTopic: string;
  readonly doneTopic: string;
  readonly workPartitions: number;
  /** Blocks (8 KiB pages) per work item. */
  readonly chunkBlocks: number;
  /** Publishes the items, all or none (one Kafka transaction). */
  readonly publish: (records: readonly WorkRecord[]) => Promise<void>;
  readonly logger: Logger;
  readonly progress?: (rows: number) => void;
  readonly signal?: AbortSignal;
}

/** The CTID ranges `[from, to)` of a distributed table: `chunkBlocks` each, the last one open-ended (rows in blocks added later). */
export function planWorkRanges(blocks: number, chunkBlocks: number): { readonly from: number; readonly to: number | undefined }[] {
  const ranges: { from: number; to: number | undefined }[] = [];
  for (let from = 0; from + chunkBlocks < blocks; from += chunkBlocks) ranges.push({ from, to: from + chunkBlocks });
  ranges.push({ from: ranges.length * chunkBlocks, to: undefined });
  return ranges;
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
  const consumer = new Consumer<string, string, string, string>({
    clientId: options.clientId,
    groupId: `zeroetl-snapshot-done-${batch}`,
    bootstrapBrokers: [...options.brokers],
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  });
  try {
    // reading completions from the topic's start, filtered by this batch's id, cannot miss one published early
    const stream = await consumer.consume({ topics: [options.doneTopic], mode: "earliest", autocommit: false });
    const done = new Set<number>();
    let rows = 0;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    stream.on("data", (message: { key: string | undefined; value: string | undefined }) => {
      if (message.key !== batch || message.value === undefined) return;
      try {
        const record = JSON.parse(message.value) as { item?: unknown; status?: unknown; rows?: unknown; worker?: unknown };
        if (typeof record.item !== "number" || done.has(record.item)) return;
        if (record.status === "stale") {
          failure = new ZeroEtlError(
            `kafka: worker ${String(record.worker)} could not import snapshot ${exported.snapshot} of ${key} although this run holds it: check that its source.distributedSnapshot.sourceUrl points at this run's source database`,
            { code: "config-invalid", table: key },
          );
        } else {
          done.add(record.item);
          rows += typeof record.rows === "number" ? record.rows : 0;
          options.progress?.(rows);
        }
      } catch {
        // not a completion of ours
      }
      wake?.();
    });
    stream.on("error", (error: unknown) => {
      failure = error instanceof Error ? error : new Error(String(error));
      wake?.();
    });
    const records = ranges.map((range, item) => ({
      topic: options.workTopic,
      partition: item % options.workPartitions,
      key: `${batch}:${item}`,
      value: JSON.stringify({ batch, item, snapshot: exported.snapshot, relationOid: exported.relationOid, schema, fromBlock: range.from, toBlock: range.to ?? null }),
    }));
    await options.publish(records);
    options.logger.info("kafka: snapshot chunks published", { table: key, batch, items: records.length, blocks: exported.blocks });
    let lastLog = Date.now();
    while (done.size < records.length) {
      if (failure !== undefined) throw failure;
      if (options.signal?.aborted === true) throw new ZeroEtlError("aborted while waiting for snapshot chunks", { code: "aborted", table: key });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (Date.now() - lastLog >= WAIT_LOG_MS) {
        lastLog = Date.now();
        options.logger.info("kafka: waiting for snapshot chunks; workers need source.distributedSnapshot", { table: key, batch, done: done.size, items: records.length });
      }
    }
    await stream.close();
    options.logger.info("kafka: snapshot chunks done", { table: key, batch, items: records.length, rows });
    return rows;
  } catch (error) {
    throw error instanceof ZeroEtlError ? error : new ZeroEtlError(`kafka: distributing the snapshot of ${key} failed: ${error instanceof Error ? error.message : String(error)}`, { code: "sink-failed", retryable: true, cause: error });
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
