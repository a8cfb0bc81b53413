import { ZeroEtlError, silentLogger, tableKey } from "@zero-etl/core";
import type { ChangeBatch, ChangeEvent, Logger, RejectedRecord } from "@zero-etl/core";
import type { DynamoDbStreamsApi } from "./dynamodb-api.js";
import { createBackoff, errorName, isThrottlingError, sleep } from "./dynamodb-backoff.js";
import type { DynamoDbChangeRecord } from "./dynamodb-record-decoder.js";
import { decodeChangeRecord, undecodableRecordEvent } from "./dynamodb-record-decoder.js";
import type { ShardNode, ShardStart } from "./dynamodb-shard-lineage.js";
import { planShards } from "./dynamodb-shard-lineage.js";
import type { DynamoDbStreamPosition } from "./dynamodb-stream-position.js";
import { dynamoDbPositionCodec, eventPosition } from "./dynamodb-stream-position.js";
import type { DynamoDbTableModel } from "./dynamodb-table-model.js";
import type { DynamoDbMarkerGate } from "./dynamodb-marker-gate.js";

/** Options of {@link readDynamoDbStream}. */
export interface StreamReaderOptions {
  readonly api: DynamoDbStreamsApi;
  readonly model: DynamoDbTableModel;
  readonly from: DynamoDbStreamPosition;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Pause after a poll round that found no records; 500 ms by default. */
  readonly idleDelayMs?: number;
  /** Records per GetRecords call (at most 1000). */
  readonly limit?: number;
  /** How often the shard graph is refreshed while nothing closes; 30 s by default. */
  readonly describeIntervalMs?: number;
  /** Shards polled at once (8). */
  readonly concurrency?: number;
  /** Markers to place in the output (incremental snapshots); see {@link DynamoDbMarkerGate}. */
  readonly markers?: DynamoDbMarkerGate;
}

interface FetchResult {
  readonly shardId: string;
  readonly records: readonly { readonly dynamodb?: { readonly SequenceNumber?: string | undefined } | undefined }[];
  readonly next: string | null | undefined;
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Fetches the whole shard graph of a stream, following `LastEvaluatedShardId`. */
export async function describeShardGraph(api: DynamoDbStreamsApi, streamArn: string, signal?: AbortSignal): Promise<ShardNode[]> {
  const shards: ShardNode[] = [];
  let start: string | undefined;
  const backoff = createBackoff();
  do {
    let out;
    try {
      out = await api.describeStream({ StreamArn: streamArn, ...(start === undefined ? {} : { ExclusiveStartShardId: start }) }, signal);
    } catch (cause) {
      if (isThrottlingError(cause) && backoff.attempts < 12) {
        await backoff.wait(signal);
        continue;
      }
      throw streamError(`dynamodb DescribeStream failed for ${streamArn}`, cause);
    }
    backoff.reset();
    for (const s of out.StreamDescription?.Shards ?? []) {
      if (s.ShardId === undefined) continue;
      shards.push({
        shardId: s.ShardId,
        ...(s.ParentShardId === undefined ? {} : { parentShardId: s.ParentShardId }),
        ...(s.SequenceNumberRange?.EndingSequenceNumber === undefined ? {} : { endingSequenceNumber: s.SequenceNumberRange.EndingSequenceNumber }),
      });
    }
    start = out.StreamDescription?.LastEvaluatedShardId;
  } while (start !== undefined);
  return shards;
}

function streamError(message: string, cause: unknown): ZeroEtlError {
  const name = errorName(cause);
  if (cause instanceof ZeroEtlError) return cause;
  if (name === "TrimmedDataAccessException" || name === "ResourceNotFoundException") {
    return new ZeroEtlError(`${message}: the stream no longer holds the stored position (${name})`, { code: "position-lost", cause });
  }
  if (name === "AbortError" || name === "AbortedError") return new ZeroEtlError("dynamodb source aborted", { code: "aborted", cause });
  return new ZeroEtlError(`${message} (${name})`, { code: "source-failed", retryable: isThrottlingError(cause) || name === "InternalServerError", cause });
}

/**
 * Streams DynamoDB Streams records as {@link ChangeBatch}es, one per
 * GetRecords page, each with the full position map after it as checkpoint.
 * Shards are read in lineage order (see {@link planShards}); iterators start
 * at TRIM_HORIZON for shards the position has not touched and
 * AFTER_SEQUENCE_NUMBER otherwise. Expired iterators are re-acquired from
 * the last sequence number; throttling backs off. A poll round that finds no
 * records yields an empty batch with `caughtUp` (its checkpoint carries the
 * round's start time) and then waits `idleDelayMs` (less when a marker is
 * emitted). After a round that drained every shard, the markers emitted
 * before it began are placed: a batch with `markers` and no events. Records
 * the stream has trimmed away fail with a `position-lost` error.
 */
export async function* readDynamoDbStream(options: StreamReaderOptions): AsyncGenerator<ChangeBatch> {
  const { api, model, signal, markers } = options;
  const logger = options.logger ?? silentLogger;
  const streamArn = options.from.streamArn;
  const idleDelay = options.idleDelayMs ?? 500;
  const limit = options.limit ?? 1000;
  const describeInterval = options.describeIntervalMs ?? 30_000;
  const concurrency = options.concurrency ?? 8;
  const shards = new Map<string, string>(Object.entries(options.from.shards));
  const closed = new Set<string>(options.from.closed);
  const iterators = new Map<string, string>();
  const announced = new Set<string>(model.declared.map(tableKey));
  const backoff = createBackoff();

  const snapshotPosition = (caughtUpAt?: number): string =>
    dynamoDbPositionCodec.serialize({
      streamArn,
      shards: Object.fromEntries(shards),
      closed: [...closed],
      ...(caughtUpAt === undefined ? {} : { caughtUpAt }),
    });

  const acquire = async (shardId: string, start: ShardStart): Promise<string | undefined> => {
    for (;;) {
      try {
        const out = await api.getShardIterator(
          start.type === "TRIM_HORIZON"
            ? { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }
            : { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: start.sequenceNumber },
          signal,
        );
        backoff.reset();
        return out.ShardIterator;
      } catch (cause) {
        if (isThrottlingError(cause) && backoff.attempts < 12) {
          await backoff.wait(signal);
          continue;
        }
        throw streamError(`dynamodb GetShardIterator failed for shard ${shardId}`, cause);
      }
    }
  };

  const startOf = (shardId: string): ShardStart => {
    const seq = shards.get(shardId);
    return seq === undefined ? { type: "TRIM_HORIZON" } : { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: seq };
  };

  const fetchShard = async (shardId: string, start: ShardStart): Promise<FetchResult | undefined> => {
    let iterator = iterators.get(shardId) ?? (await acquire(shardId, start));
    if (iterator === undefined) return undefined;
    const retry = createBackoff();
    for (;;) {
      try {
        const out = await api.getRecords({ ShardIterator: iterator, Limit: limit }, signal);
        return { shardId, records: out.Records ?? [], next: out.NextShardIterator };
      } catch (cause) {
        const name = errorName(cause);
        if (name === "ExpiredIteratorException") {
          logger.info("dynamodb shard iterator expired; re-acquiring", { shardId });
          const fresh = await acquire(shardId, startOf(shardId));
          if (fresh === undefined) throw streamError(`dynamodb GetShardIterator returned no iterator for shard ${shardId}`, cause);
          iterator = fresh;
          continue;
        }
        if (isThrottlingError(cause) && retry.attempts < 12) {
          await retry.wait(signal);
          continue;
        }
        throw streamError(`dynamodb GetRecords failed for shard ${shardId}`, cause);
      }
    }
  };

  let graph = await describeShardGraph(api, streamArn, signal);
  let describedAt = performance.now();
  for (;;) {
    if (signal?.aborted === true) return;
    const plan = planShards(graph, { shards: Object.fromEntries(shards), closed: [...closed] });
    if (plan.lost.length > 0) {
      throw new ZeroEtlError(
        `dynamodb stream ${streamArn} no longer lists shard ${plan.lost.join(", ")} that the position has partly read: changes were trimmed (older than 24 h); re-snapshot the table`,
        { code: "position-lost", table: tableKey(model.base) },
      );
    }
    for (const id of plan.forgettable) closed.delete(id);
    const roundStart = Date.now();
    const ticket = markers?.roundStarts() ?? 0;
    // every shard polled in this round came back with less than a full page and none ended: the round reached the stream's tip
    let drained = true;
    let delivered = false;
    let anyClosed = false;
    // GetRecords runs for up to `concurrency` shards at once; results are then applied in shard order
    let fetched: (FetchResult | undefined)[];
    try {
      fetched = await mapConcurrently(plan.ready, concurrency, (r) => fetchShard(r.shardId, r.start));
    } catch (error) {
      if (isAborted(signal)) return;
      throw error;
    }
    for (const result of fetched) {
      if (result === undefined) continue;
      const { shardId, records, next } = result;
      if (records.length >= limit) drained = false;
      const events: ChangeEvent[] = [];
      const rejected: RejectedRecord[] = [];
      for (const record of records) {
        const seq = record.dynamodb?.SequenceNumber;
        if (seq === undefined) continue;
        const before = events.length;
        const position = eventPosition(shardId, seq);
        try {
          decodeChangeRecord(record as DynamoDbChangeRecord, { model, position, out: events });
        } catch (error) {
          if (!(error instanceof ZeroEtlError) || error.code !== "record-rejected") throw error;
          // one record no decoder can read must not stop the table: it goes to the dead-letter queue
          rejected.push({ event: undecodableRecordEvent(record as DynamoDbChangeRecord, { model, position }), reason: error.message });
          logger.warn("dynamodb stream record cannot be decoded; dead-lettered", { position, error: error.message });
        }
        if (model.routed) announceTables(events, before, announced, model);
        shards.set(shardId, seq);
      }
      if (next === undefined || next === null) {
        closed.add(shardId);
        shards.delete(shardId);
        iterators.delete(shardId);
        anyClosed = true;
        logger.info("dynamodb shard fully read", { shardId });
      } else {
        iterators.set(shardId, next);
      }
      if (events.length > 0 || rejected.length > 0 || next === undefined || next === null) {
        delivered ||= events.length > 0 || rejected.length > 0;
        yield rejected.length > 0 ? { events, checkpoint: snapshotPosition(), rejected } : { events, checkpoint: snapshotPosition() };
      }
    }
    if (anyClosed || plan.ready.length === 0 || performance.now() - describedAt > describeInterval) {
      try {
        graph = await describeShardGraph(api, streamArn, signal);
      } catch (error) {
        if (isAborted(signal)) return;
        throw error;
      }
      describedAt = performance.now();
    }
    const idle = !delivered && !anyClosed;
    const placed = markers?.place(ticket, drained && !anyClosed) ?? [];
    if (placed.length > 0) {
      const checkpoint = idle ? snapshotPosition(roundStart) : snapshotPosition();
      const batch: ChangeBatch = { events: [], checkpoint, markers: placed.map((content) => ({ content, position: checkpoint })) };
      yield idle ? { ...batch, caughtUp: true } : batch;
    } else if (idle) yield { events: [], checkpoint: snapshotPosition(roundStart), caughtUp: true };
    if (idle) {
      try {
        if (markers === undefined) await sleep(idleDelay, signal);
        else await markers.idle(idleDelay, signal);
      } catch {
        return;
      }
    }
  }
}

/** Puts a `schema` event before the first event of each routed table not yet announced in this stream session. */
function announceTables(events: ChangeEvent[], from: number, announced: Set<string>, model: DynamoDbTableModel): void {
  for (let i = from; i < events.length; i++) {
    const event = events[i] as ChangeEvent;
    const key = tableKey(event.table);
    if (announced.has(key)) continue;
    announced.add(key);
    events.splice(i, 0, { op: "schema", table: event.table, schema: model.schemaFor(event.table), position: event.position });
    i++;
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
