export { createDynamoDbSource } from "./dynamodb-source.js";
export type { DynamoDbSourceOptions } from "./dynamodb-source-options.js";
export { validateDynamoDbSourceOptions } from "./dynamodb-source-options.js";
export type { AwsConnection, DynamoDbApi, DynamoDbStreamsApi, S3ObjectApi } from "./dynamodb-api.js";
export { createSdkDynamoDbApi, createSdkDynamoDbStreamsApi, createSdkS3ObjectApi } from "./dynamodb-api.js";
export type { AttributeMap, AttributeValue } from "./dynamodb-value.js";
export {
  attributeLogicalType,
  compareDecimalStrings,
  itemToJsonText,
  normalizeDynamoNumber,
  unmarshalItem,
  unmarshalValue,
} from "./dynamodb-value.js";
export type { DynamoDbKeyAttribute, DynamoDbRouting, DynamoDbTableModel, DynamoDbTableModelOptions } from "./dynamodb-table-model.js";
export { createDynamoDbTableModel } from "./dynamodb-table-model.js";
export type { ScanSnapshotOptions } from "./dynamodb-scan-snapshot.js";
export { defaultScanSegments, scanSnapshot } from "./dynamodb-scan-snapshot.js";
export type { DynamoDbExportReader, ExportDataFile, ExportManifestSummary, ExportReaderOptions, IncrementalExportRecord } from "./dynamodb-export-reader.js";
export { createDynamoDbExportReader, incrementalExportEvents } from "./dynamodb-export-reader.js";
export type { DynamoDbStreamPosition } from "./dynamodb-stream-position.js";
export { compareSequenceNumbers, dynamoDbPositionCodec, eventPosition } from "./dynamodb-stream-position.js";
export type { ShardNode, ShardPlan, ShardProgress, ShardStart } from "./dynamodb-shard-lineage.js";
export { planShards } from "./dynamodb-shard-lineage.js";
export type { StreamReaderOptions } from "./dynamodb-stream-reader.js";
export { describeShardGraph, readDynamoDbStream } from "./dynamodb-stream-reader.js";
export type { DecodeChangeOptions, DynamoDbChangeRecord, DynamoDbDeleteEvent } from "./dynamodb-record-decoder.js";
export { decodeChangeRecord, undecodableRecordEvent } from "./dynamodb-record-decoder.js";
export type { DynamoDbPreflightOptions } from "./dynamodb-preflight.js";
export { runDynamoDbPreflight } from "./dynamodb-preflight.js";
