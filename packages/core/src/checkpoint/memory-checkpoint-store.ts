import type { CheckpointStore, PipelineCheckpoint } from "./pipeline-checkpoint.js";

/** Keeps checkpoints in memory: for tests and for embedding with a store of one's own. */
export function createMemoryCheckpointStore(): CheckpointStore {
  const saved = new Map<string, PipelineCheckpoint>();
  return {
    load: async (pipeline) => saved.get(pipeline),
    save: async (checkpoint) => {
      saved.set(checkpoint.pipeline, Object.freeze({ ...checkpoint }));
    },
    clear: async (pipeline) => {
      saved.delete(pipeline);
    },
  };
}
