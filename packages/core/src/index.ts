export type { LogicalType, LogicalTypeKind, NativeType, StructField } from "./schema/logical-type.js";
export { LIST_LOWER_BOUNDS, formatLogicalType, isSameLogicalType } from "./schema/logical-type.js";
export type { ColumnSchema, TableRef, TableSchema } from "./schema/table-schema.js";
export { findColumn, freezeSchema, parseTableKey, tableKey } from "./schema/table-schema.js";
export type { Row, Value } from "./schema/value.js";
export { estimateRowBytes, estimateValueBytes } from "./schema/value.js";
export type {
  ChangeEvent,
  ChangeOp,
  DeleteEvent,
  InsertEvent,
  RowChangeEvent,
  SchemaChangeEvent,
  TruncateEvent,
  UpdateEvent,
} from "./change/change-event.js";
export { CHANGE_OPS, isRowChange } from "./change/change-event.js";
export type { ChangeBatch, SnapshotChunk } from "./change/change-batch.js";
export type { SnapshotCopy, SnapshotCopyColumn, SnapshotCopyExport, SnapshotCopyPart, SnapshotCopyPredicate } from "./change/snapshot-copy.js";
export { snapshotReaderApplicationName } from "./change/snapshot-copy.js";
export type { TableChange, TableDrop, TableRefresh } from "./change/table-change.js";
export type { PositionCodec } from "./position/position-codec.js";
export { compareSerialized } from "./position/position-codec.js";
export type { ErrorCode, ZeroEtlErrorOptions } from "./errors/zero-etl-error.js";
export { ConfigError, ZeroEtlError, isRetryable } from "./errors/zero-etl-error.js";
export type { PreflightCheck, PreflightOptions, PreflightReport } from "./preflight/preflight-report.js";
export { isPreflightPassing } from "./preflight/preflight-report.js";
export type { SnapshotOptions, SnapshotSession, Source, SourceCapabilities, StreamOptions } from "./source/source.js";
export type { FlushReceipt, PrepareChange, PreparedWrite, RejectedRecord, Sink, SnapshotCopyOptions, SinkCapabilities, SinkOpenContext, SinkTargetStats, WriteReceipt } from "./sink/sink.js";
export type { Mapper, MapperContext } from "./mapper/mapper.js";
export { composeMappers, mapChunkWith } from "./mapper/compose-mappers.js";
export type { IncrementalProgress, TableState, TableStatus } from "./state/table-state.js";
export { isTableApplying } from "./state/table-state.js";
export type { CheckpointStore, PipelineCheckpoint } from "./checkpoint/pipeline-checkpoint.js";
export { createMemoryCheckpointStore } from "./checkpoint/memory-checkpoint-store.js";
export { createFileCheckpointStore } from "./checkpoint/file-checkpoint-store.js";
export type { DeadLetter, DeadLetterQueue } from "./dlq/dead-letter-queue.js";
export { createFileDeadLetterQueue, createMemoryDeadLetterQueue, toDeadLetter } from "./dlq/dead-letter-queue.js";
export type { Logger, LoggerOptions } from "./observability/logger.js";
export { createLogger, silentLogger } from "./observability/logger.js";
export type { MetricEvent, MetricTotals, PipelineMetrics } from "./observability/metrics.js";
export { createPipelineMetrics } from "./observability/metrics.js";
export type { PrometheusMetrics, PrometheusMetricsOptions } from "./observability/prometheus-metrics.js";
export { createPrometheusMetrics } from "./observability/prometheus-metrics.js";
export type { CloudWatchDatum, CloudWatchPublisher, CloudWatchPublisherOptions, CloudWatchPutInput } from "./observability/cloudwatch-metrics.js";
export { createCloudWatchPublisher } from "./observability/cloudwatch-metrics.js";
export { redactSecrets, redactText } from "./observability/redact.js";
export type { BatchPolicy } from "./runtime/batch-policy.js";
export { DEFAULT_BATCH_POLICY } from "./runtime/batch-policy.js";
export type { CopyParallelismInputs } from "./runtime/copy-parallelism.js";
export { MAX_DEFAULT_COPY_PARALLELISM, defaultCopyParallelism, isOnThisHost } from "./runtime/copy-parallelism.js";
export type { BackOff, RetryAttempt, RetryPolicy, WithRetryOptions } from "./runtime/retry.js";
export { DEFAULT_RETRY_POLICY, createBackOff, sleep, withRetry } from "./runtime/retry.js";
export { isTransientError } from "./runtime/error-classification.js";
export type { ConnectionTimeouts } from "./runtime/connection-timeouts.js";
export { DEFAULT_CONNECTION_TIMEOUTS, resolveConnectionTimeouts } from "./runtime/connection-timeouts.js";
export type { PipelineOptions, PipelineResult } from "./runtime/pipeline.js";
export { markForResync, runPipeline } from "./runtime/pipeline.js";
export type { SelectionChange } from "./runtime/selection-changes.js";
export { SelectionChanges } from "./runtime/selection-changes.js";
export type { IncrementalChunk, IncrementalSnapshotSource, ReadChunkOptions, StreamMarker } from "./source/incremental-snapshot-source.js";
export type { DecodedMarker, MarkerContent } from "./runtime/stream-marker.js";
export { MARKER_KEY_BYTES, decodeMarker, encodeMarker } from "./runtime/stream-marker.js";
export { DEFAULT_INCREMENTAL_CHUNK_ROWS } from "./runtime/incremental-snapshotter.js";
export { WatermarkWindow, rowKey } from "./runtime/watermark-window.js";
