export type { KafkaSinkOptions, KafkaSinkConfig } from "./kafka-sink-options.js";
export { resolveKafkaSinkConfig, kafkaTopicName } from "./kafka-sink-options.js";
export { createKafkaSink, KafkaSink, UNCHANGED_HEADER } from "./kafka-sink.js";
export { DebeziumTableEncoder, ZEROETL_VERSION_PARAMETER, ZEROETL_RENAMED_PARAMETER } from "./debezium-table-encoder.js";
export type { DebeziumOp, DebeziumSourceInfo } from "./debezium-table-encoder.js";
export { connectSchemaOf, ZEROETL_TYPE_PARAMETER, SOURCE_TYPE_PARAMETER } from "./debezium-field-schema.js";
export type { ConnectSchema } from "./debezium-field-schema.js";
export { writeValue, encodeDate, encodeTime, encodeTimestamp, daysFromCivil } from "./debezium-value-writer.js";
