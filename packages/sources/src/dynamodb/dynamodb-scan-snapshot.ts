import { ZeroEtlError, silentLogger } from "@zero-etl/core";
import type { Logger, SnapshotChunk } from "@zero-etl/core";
import type { DynamoDbApi } from "./dynamodb-api.js";
import { createChunkBuilder } from "./dynamodb-chunk-builder.js";
import { createBackoff, errorName, isThrottlingError, sleep } from "./dynamodb-backoff.js";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { AttributeMap } from "./dynamodb-value.js";

/** Options of {@link scanSnapshot}. */
export interface ScanSnapshotOptions {
  readonly api: DynamoDbApi;
  readonly table: string;
  readonly model: DynamoDbTableModel;
  /** Parallel Scan segments; by default one per GiB of table size, between 1 and 16. */
  readonly segments?: number;
  /**
   * Share (0..1] of the table's provisioned read capacity the scan may use,
   * paced with the consumed capacity DynamoDB reports. On-demand tables have
   * no provisioned figure: set `readUnitsPerSecond` to pace them.
   */
  readonly capacityShare?: number;
  /** An explicit read-unit budget per second; overrides `capacityShare`. */
  readonly readUnitsPerSecond?: number;
  /** Rows per chunk; 1000 by default. */
  readonly chunkSize?: number;
  /** Scan `Limit` (items per page); DynamoDB's 1 MB pages when absent. Smaller pages smooth capacity use. */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

const GIB = 1024 ** 3;

/** The default segment count for a table of `sizeBytes`: one per GiB, 1..16. */
export function defaultScanSegments(sizeBytes: number | undefined): number {
  return Math.min(16, Math.max(1, Math.ceil((sizeBytes ?? 0) / GIB)));
}

/**
 * Reads the whole table with a parallel Scan (`Segment`/`TotalSegments`,
 * strongly consistent reads) and yields {@link SnapshotChunk}s of about
 * `chunkSize` rows per target table (routing may spread one table over
 * several). Every target table seen ends with a `last: true` chunk; the base
 * table always does, even when empty. Throttling errors back off
 * exponentially and halve the pace, which then recovers by 10% per page.
 * Items may be seen while they change; the stream replays those changes.
 */
export async function* scanSnapshot(options: ScanSnapshotOptions): AsyncGenerator<SnapshotChunk> {
  const { api, model, signal } = options;
  const logger = options.logger ?? silentLogger;
  const chunkSize = options.chunkSize ?? 1000;
  let description;
  try {
    description = (await api.describeTable({ TableName: options.table }, signal)).Table;
  } catch (cause) {
    throw new ZeroEtlError(`dynamodb DescribeTable failed for table ${options.table} (${errorName(cause)})`, {
      code: "source-failed",
      retryable: isThrottlingError(cause),
      cause,
      table: options.table,
    });
  }
  const segments = options.segments ?? defaultScanSegments(description?.TableSizeBytes);
  const provisioned = description?.ProvisionedThroughput?.ReadCapacityUnits ?? 0;
  const targetRate =
    options.readUnitsPerSecond ?? (options.capacityShare !== undefined && provisioned > 0 ? provisioned * options.capacityShare : undefined);
  const pace = targetRate === undefined ? undefined : createPace(targetRate);
  const estimate = description?.ItemCount;
  logger.info("dynamodb scan started", { table: options.table, segments, readUnitsPerSecond: targetRate ?? null });

  const queue = createPageQueue(segments * 2);
  const workers: Promise<void>[] = [];
  for (let segment = 0; segment < segments; segment++) {
    workers.push(
      scanSegment({
        api,
        table: options.table,
        segment,
        segments,
        pace,
        queue,
        ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
        ...(signal === undefined ? {} : { signal }),
      }),
    );
  }
  let failure: unknown;
  let running = segments;
  for (const w of workers) {
    w.then(
      () => {
        running--;
        if (running === 0) queue.close();
      },
      (error: unknown) => {
        failure ??= error;
        queue.close();
      },
    );
  }

  const builder = createChunkBuilder(model, chunkSize, estimate);
  try {
    for (;;) {
      const page = await queue.take();
      if (page === undefined) break;
      for (const item of page) {
        const chunk = builder.add(item);
        if (chunk !== undefined) yield chunk;
      }
    }
    if (failure !== undefined) throw failure;
    const last = builder.finish();
    yield* last;
    logger.info("dynamodb scan finished", { table: options.table, tables: last.length });
  } finally {
    queue.close();
    await Promise.allSettled(workers);
  }
}

interface SegmentOptions {
  readonly api: DynamoDbApi;
  readonly table: string;
  readonly segment: number;
  readonly segments: number;
  readonly pace: Pace | undefined;
  readonly queue: PageQueue;
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

async function scanSegment(o: SegmentOptions): Promise<void> {
  const backoff = createBackoff();
  let startKey: Record<string, unknown> | undefined;
  do {
    if (o.queue.closed) return;
    if (o.pace !== undefined) await o.pace.beforeRequest(o.signal);
    let out;
    try {
      out = await o.api.scan(
        {
          TableName: o.table,
          Segment: o.segment,
          TotalSegments: o.segments,
          ConsistentRead: true,
          ReturnConsumedCapacity: "TOTAL",
          ...(o.pageSize === undefined ? {} : { Limit: o.pageSize }),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey as never }),
        },
        o.signal,
      );
    } catch (cause) {
      if (isThrottlingError(cause) && backoff.attempts < 12) {
        o.pace?.throttled();
        await backoff.wait(o.signal);
        continue;
      }
      if (o.signal?.aborted === true) throw new ZeroEtlError("dynamodb scan aborted", { code: "aborted", cause });
      throw new ZeroEtlError(`dynamodb Scan failed for table ${o.table} segment ${o.segment} (${errorName(cause)})`, {
        code: "source-failed",
        retryable: isThrottlingError(cause),
        cause,
        table: o.table,
      });
    }
    backoff.reset();
    o.pace?.consumed(out.ConsumedCapacity?.CapacityUnits ?? 0);
    startKey = out.LastEvaluatedKey;
    if (out.Items !== undefined && out.Items.length > 0) await o.queue.put(out.Items as unknown as AttributeMap[]);
  } while (startKey !== undefined);
}

interface Pace {
  beforeRequest(signal?: AbortSignal): Promise<void>;
  consumed(units: number): void;
  throttled(): void;
}

/** A read-unit budget shared by all segments: units accrue at `rate`/s (one second of burst) and pages spend them. */
function createPace(target: number): Pace {
  let rate = target;
  let available = target;
  let last = performance.now();
  const refill = () => {
    const now = performance.now();
    available = Math.min(rate, available + ((now - last) / 1000) * rate);
    last = now;
  };
  return {
    async beforeRequest(signal) {
      refill();
      if (available < 0) await sleep(Math.ceil((-available / rate) * 1000), signal);
    },
    consumed(units) {
      refill();
      available -= units;
      rate = Math.min(target, rate * 1.1);
    },
    throttled() {
      rate = Math.max(target / 64, rate / 2);
    },
  };
}

interface PageQueue {
  put(page: AttributeMap[]): Promise<void>;
  take(): Promise<AttributeMap[] | undefined>;
  close(): void;
  readonly closed: boolean;
}

/** A bounded hand-off between segment workers and the consumer, so a slow sink slows the scan. */
function createPageQueue(capacity: number): PageQueue {
  const pages: AttributeMap[][] = [];
  let closed = false;
  let taker: (() => void) | undefined;
  const putters: (() => void)[] = [];
  const wakeTaker = () => {
    const t = taker;
    taker = undefined;
    t?.();
  };
  return {
    get closed() {
      return closed;
    },
    async put(page) {
      while (!closed && pages.length >= capacity) await new Promise<void>((r) => putters.push(r));
      if (closed) return;
      pages.push(page);
      wakeTaker();
    },
    async take() {
      for (;;) {
        const page = pages.shift();
        if (page !== undefined) {
          putters.shift()?.();
          return page;
        }
        if (closed) return undefined;
        await new Promise<void>((r) => {
          taker = r;
        });
      }
    },
    close() {
      closed = true;
      wakeTaker();
      for (const p of putters.splice(0)) p();
    },
  };
}
