import type { TableStatus } from "../state/table-state.js";

/**
 * A pipeline's durable progress: where to resume the source and how each
 * table stands. Immutable: the runtime makes a new one for every save.
 */
export interface PipelineCheckpoint {
  readonly pipeline: string;
  /** `snapshot` until the initial snapshot finished; a restart in that phase re-snapshots. */
  readonly phase: "snapshot" | "streaming";
  /** Serialized source position to resume streaming from; absent before the snapshot began. */
  readonly position?: string;
  /** Per table (`namespace.name`) state. */
  readonly tables: Readonly<Record<string, TableStatus>>;
  /** ISO-8601 time of the save. */
  readonly savedAt: string;
}

/** Persists checkpoints. Three methods, like TanStack Query's persister. */
export interface CheckpointStore {
  /** The last saved checkpoint of a pipeline, or undefined. */
  load(pipeline: string): Promise<PipelineCheckpoint | undefined>;
  /** Saves atomically: after a crash, load returns this or the previous one, never a torn mix. */
  save(checkpoint: PipelineCheckpoint): Promise<void>;
  /** Forgets a pipeline. */
  clear(pipeline: string): Promise<void>;
}
