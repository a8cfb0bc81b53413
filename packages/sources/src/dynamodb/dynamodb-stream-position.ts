import { ZeroEtlError } from "@zero-etl/core";
import type { PositionCodec } from "@zero-etl/core";

/**
 * Where a DynamoDB Streams reader stands: per shard the last sequence number
 * delivered, and the shards read to their end. A shard absent from both is
 * read from `TRIM_HORIZON` once its parent is done, so the empty map means
 * "everything the stream still holds" (the snapshot's position).
 */
export interface DynamoDbStreamPosition {
  /** The stream the sequence numbers belong to; empty in a per-event position. */
  readonly streamArn: string;
  /** Shard id to the last sequence number delivered from it. */
  readonly shards: Readonly<Record<string, string>>;
  /** Shards fully read (their `NextShardIterator` was null), sorted. */
  readonly closed: readonly string[];
  /** Set on checkpoints of a poll round that started at this time (ms) and found every readable shard drained. */
  readonly caughtUpAt?: number;
  /** Set only by `currentPosition()`: "whatever was written before this time (ms)". */
  readonly latestAt?: number;
}

/** Compares two DynamoDB sequence numbers (decimal strings of varying length). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The position of one event: `shardId/sequenceNumber`, which {@link dynamoDbPositionCodec} also parses. */
export function eventPosition(shardId: string, sequenceNumber: string): string {
  return `${shardId}/${sequenceNumber}`;
}

function invalid(reason: string): ZeroEtlError {
  return new ZeroEtlError(`invalid dynamodb stream position: ${reason}`, { code: "position-invalid" });
}

function rank(p: DynamoDbStreamPosition, shard: string, closed: ReadonlySet<string>): string | 1 | -1 {
  if (closed.has(shard)) return 1;
  return p.shards[shard] ?? -1;
}

function compareRanks(a: string | 1 | -1, b: string | 1 | -1): number {
  if (typeof a === "number" || typeof b === "number") {
    const na = typeof a === "number" ? a : 0;
    const nb = typeof b === "number" ? b : 0;
    return na - nb;
  }
  return compareSequenceNumbers(a, b);
}

/**
 * Codec of {@link DynamoDbStreamPosition}: JSON with a version field, or the
 * compact `shardId/sequenceNumber` of one event. Positions are partially
 * ordered (per shard); `compare` is positive when `a` is at or beyond `b` on
 * every shard and beyond on one, negative in the opposite case, and for
 * positions that each lead on some shard, orders by shards closed then by
 * shards ahead. Against a `currentPosition()` marker, a checkpoint is at or
 * after it when its `caughtUpAt` is not earlier than the marker's time.
 */
export const dynamoDbPositionCodec: PositionCodec<DynamoDbStreamPosition> = {
  parse(serialized) {
    if (!serialized.startsWith("{")) {
      const slash = serialized.lastIndexOf("/");
      if (slash <= 0 || slash === serialized.length - 1) throw invalid("expected JSON or shardId/sequenceNumber");
      return { streamArn: "", shards: { [serialized.slice(0, slash)]: serialized.slice(slash + 1) }, closed: [] };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(serialized);
    } catch (cause) {
      throw new ZeroEtlError("invalid dynamodb stream position: not JSON", { code: "position-invalid", cause });
    }
    const o = raw as Record<string, unknown>;
    if (o.v !== 1 || typeof o.stream !== "string" || typeof o.shards !== "object" || o.shards === null || !Array.isArray(o.closed)) {
      throw invalid("expected {v:1, stream, shards, closed}");
    }
    for (const v of Object.values(o.shards)) if (typeof v !== "string" || !/^\d+$/.test(v)) throw invalid("sequence numbers must be digit strings");
    if (!o.closed.every((c) => typeof c === "string")) throw invalid("closed must list shard ids");
    const position: DynamoDbStreamPosition = {
      streamArn: o.stream,
      shards: o.shards as Record<string, string>,
      closed: o.closed as string[],
      ...(typeof o.caughtUpAt === "number" ? { caughtUpAt: o.caughtUpAt } : {}),
      ...(typeof o.latestAt === "number" ? { latestAt: o.latestAt } : {}),
    };
    return position;
  },
  serialize(p) {
    const shards: Record<string, string> = {};
    for (const id of Object.keys(p.shards).sort()) shards[id] = p.shards[id] as string;
    return JSON.stringify({
      v: 1,
      stream: p.streamArn,
      shards,
      closed: [...p.closed].sort(),
      ...(p.caughtUpAt === undefined ? {} : { caughtUpAt: p.caughtUpAt }),
      ...(p.latestAt === undefined ? {} : { latestAt: p.latestAt }),
    });
  },
  compare(a, b) {
    if (a.latestAt !== undefined || b.latestAt !== undefined) {
      const ta = a.latestAt ?? a.caughtUpAt ?? -Infinity;
      const tb = b.latestAt ?? b.caughtUpAt ?? -Infinity;
      return ta === tb ? 0 : ta < tb ? -1 : 1;
    }
    const closedA = new Set(a.closed);
    const closedB = new Set(b.closed);
    let ahead = 0;
    let behind = 0;
    const ids = new Set([...Object.keys(a.shards), ...Object.keys(b.shards), ...a.closed, ...b.closed]);
    for (const id of ids) {
      const d = compareRanks(rank(a, id, closedA), rank(b, id, closedB));
      if (d > 0) ahead++;
      else if (d < 0) behind++;
    }
    if (ahead > 0 && behind === 0) return 1;
    if (behind > 0 && ahead === 0) return -1;
    if (ahead === 0) return (a.caughtUpAt ?? 0) - (b.caughtUpAt ?? 0);
    return closedA.size !== closedB.size ? closedA.size - closedB.size : ahead - behind;
  },
};
