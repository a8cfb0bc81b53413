export type { KafkaSourceOptions, KafkaSourceConfig } from "./kafka-source-options.js";
export { resolveKafkaSourceConfig } from "./kafka-source-options.js";
export { createKafkaSource, KafkaSource } from "./kafka-source.js";
export { kafkaPositionCodec } from "./kafka-position-codec.js";
export type { KafkaPosition } from "./kafka-position-codec.js";
export { DebeziumTableDecoder, logicalTypeOf } from "./debezium-table-decoder.js";
export type { ConnectSchemaJson } from "./debezium-table-decoder.js";
export { readValue, civilFromDays, timeFromMicros, timestampFromMicros } from "./debezium-value-reader.js";
export { quoteLongIntegers, splitEnvelope } from "./debezium-json-text.js";
