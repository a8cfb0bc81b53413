export type { PipelineConfig } from "./config/pipeline-config.js";
export { loadPipelineConfig, pipelineConfigSchema, validatePipelineConfig } from "./config/pipeline-config.js";
export type { PipelineParts } from "./config/build-pipeline.js";
export { DEFAULT_STATE_DIR, buildPipeline, snapshotParallelism } from "./config/build-pipeline.js";
export { checkCommand } from "./commands/check-command.js";
export { runCommand } from "./commands/run-command.js";
export { statusCommand } from "./commands/status-command.js";
export { resyncCommand } from "./commands/resync-command.js";
export { maintainCommand } from "./commands/maintain-command.js";
