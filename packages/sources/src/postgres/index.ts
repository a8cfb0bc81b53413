export { createPostgresSource } from "./postgres-source.js";
export type { PostgresSourceOptions } from "./postgres-source-config.js";
export { compareLsn, formatLsn, lsnCodec, parseLsn, type Lsn } from "./lsn.js";
export { decodePgoutput, UNCHANGED_TOAST, type PgoutputMessage, type RelationColumn, type TupleValue } from "./pgoutput-decoder.js";
export { createPgValueDecoder, pgLogicalType, type PgTypeDescriptor, type PgValueDecoder } from "./pg-value-decoder.js";
