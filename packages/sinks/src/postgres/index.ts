export type { PostgresSinkOptions, PostgresSinkConfig } from "./postgres-sink-config.js";
export { resolvePostgresSinkConfig } from "./postgres-sink-config.js";
export type { PostgresSink, PostgresTableReport } from "./postgres-sink.js";
export { createPostgresSink } from "./postgres-sink.js";
export type { PgColumnChange, PgColumnType, PgTableName } from "./postgres-ddl-compiler.js";
export {
  compileAddColumn,
  compileCreateTable,
  compileWidenColumn,
  parsePgColumnType,
  planPgColumnChange,
  renderPgColumnType,
  toPgColumnType,
} from "./postgres-ddl-compiler.js";
export { CHECKPOINTS_TABLE, TABLE_STATE_TABLE } from "./postgres-state-tables.js";
export { HISTORY_COLUMNS } from "./postgres-history-table.js";
export { HISTORY_TRUNCATES_TABLE } from "./postgres-history-applier.js";
