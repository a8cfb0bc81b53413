/** One shard of a stream as DescribeStream reports it. */
export interface ShardNode {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** Present once the shard is closed (no new records will be added). */
  readonly endingSequenceNumber?: string;
}

/** Where to start reading a ready shard. */
export type ShardStart = { readonly type: "TRIM_HORIZON" } | { readonly type: "AFTER_SEQUENCE_NUMBER"; readonly sequenceNumber: string };

/** The outcome of {@link planShards}. */
export interface ShardPlan {
  /** Shards that may be read now, in shard-id order, with their start. */
  readonly ready: readonly { readonly shardId: string; readonly start: ShardStart }[];
  /** Shards whose parent is still being read. */
  readonly waiting: readonly string[];
  /** Shards the position has partly read that the stream no longer lists: their remaining records are gone. */
  readonly lost: readonly string[];
  /** Closed shards the stream no longer lists; the position may forget them. */
  readonly forgettable: readonly string[];
}

/** The reading state {@link planShards} needs: last sequence numbers and fully read shards. */
export interface ShardProgress {
  readonly shards: Readonly<Record<string, string>>;
  readonly closed: readonly string[];
}

/**
 * Decides which shards to read, keeping DynamoDB's per-key ordering across
 * shard splits: a child shard is read only after its parent is fully read.
 * A parent the stream no longer lists (trimmed after 24 h) counts as done
 * unless the position has read part of it, which is reported as `lost`.
 * A pure function over the shard graph, so recorded graphs test it.
 */
export function planShards(graph: readonly ShardNode[], progress: ShardProgress): ShardPlan {
  const listed = new Set<string>();
  for (const s of graph) listed.add(s.shardId);
  const closed = new Set(progress.closed);
  const ready: { shardId: string; start: ShardStart }[] = [];
  const waiting: string[] = [];
  for (const shard of [...graph].sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0))) {
    if (closed.has(shard.shardId)) continue;
    const parent = shard.parentShardId;
    if (parent !== undefined && listed.has(parent) && !closed.has(parent)) {
      waiting.push(shard.shardId);
      continue;
    }
    const seq = progress.shards[shard.shardId];
    ready.push({ shardId: shard.shardId, start: seq === undefined ? { type: "TRIM_HORIZON" } : { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: seq } });
  }
  const lost = Object.keys(progress.shards).filter((id) => !listed.has(id) && !closed.has(id)).sort();
  const forgettable = progress.closed.filter((id) => !listed.has(id));
  return { ready, waiting, lost, forgettable };
}
