import type { Row, TableSchema, Value } from "@zero-etl/core";
import { connectSchemaOf, SOURCE_TYPE_PARAMETER, ZEROETL_TYPE_PARAMETER, type ConnectSchema } from "./debezium-field-schema.js";
import { writeValue } from "./debezium-value-writer.js";

/** Parameters of an envelope's row struct (`…Value`) that let a zero-etl Kafka source restore the table schema. */
export const ZEROETL_VERSION_PARAMETER = "__zeroetl.version";
export const ZEROETL_RENAMED_PARAMETER = "__zeroetl.renamed";
export const ZEROETL_PRIMARY_KEY_PARAMETER = "__zeroetl.primaryKey";

/** Debezium's operation codes: create, update, delete, read (snapshot), truncate. */
export type DebeziumOp = "c" | "u" | "d" | "r" | "t";

/** What an event contributes to the envelope's `source` block. */
export interface DebeziumSourceInfo {
  readonly tsMs: number;
  readonly snapshot: boolean;
  readonly txId: string | undefined;
  readonly position: string | undefined;
}

function sourceSchema(): ConnectSchema {
  const str = (field: string, optional = false): ConnectSchema => ({ type: "string", optional, field });
  return {
    type: "struct",
    name: "io.zeroetl.connector.Source",
    optional: false,
    field: "source",
    fields: [
      str("version"),
      str("connector"),
      str("name"),
      { type: "int64", optional: false, field: "ts_ms" },
      { type: "string", optional: true, field: "snapshot", name: "io.debezium.data.Enum", parameters: { allowed: "true,last,false,incremental" } },
      str("db"),
      str("schema"),
      str("table"),
      str("txId", true),
      str("pos", true),
    ],
  };
}

/**
 * Encodes one table's rows as Debezium change events in JSON with schemas:
 * the key envelope (`schema` + `payload` of the primary-key columns) and the
 * value envelope (`before`, `after`, `source`, `op`, `ts_ms`). The schemas are
 * serialized once per table version; each event only writes its payload.
 */
export class DebeziumTableEncoder {
  readonly schema: TableSchema;
  readonly #keySchemaJson: string;
  readonly #valueSchemaJson: string;
  readonly #sourcePrefix: string;
  readonly #keyColumns: readonly TableSchema["columns"][number][];

  constructor(schema: TableSchema, topicPrefix: string, renamed: Readonly<Record<string, string>> | undefined) {
    this.schema = schema;
    const base = `${topicPrefix}.${schema.table.namespace}.${schema.table.name}`;
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    this.#keyColumns = schema.primaryKey.map((name) => {
      const column = byName.get(name);
      if (column === undefined) throw new Error(`primary-key column ${name} of ${base} is not a column`);
      return column;
    });
    const keySchema: ConnectSchema = {
      type: "struct",
      name: `${base}.Key`,
      optional: false,
      fields: this.#keyColumns.map((c) => connectSchemaOf(c.type, false, c.name)),
    };
    const rowParameters: Record<string, string> = {
      [ZEROETL_VERSION_PARAMETER]: String(schema.version),
      [ZEROETL_PRIMARY_KEY_PARAMETER]: JSON.stringify(schema.primaryKey),
    };
    if (renamed !== undefined && Object.keys(renamed).length > 0) rowParameters[ZEROETL_RENAMED_PARAMETER] = JSON.stringify(renamed);
    const rowFields = schema.columns.map((c) => {
      const field = connectSchemaOf(c.type, c.nullable, c.name);
      const parameters: Record<string, string> = { ...field.parameters, [ZEROETL_TYPE_PARAMETER]: JSON.stringify(c.type) };
      if (c.sourceType !== undefined) parameters[SOURCE_TYPE_PARAMETER] = c.sourceType;
      return { ...field, parameters };
    });
    const row = (field: string): ConnectSchema => ({ type: "struct", name: `${base}.Value`, optional: true, field, parameters: rowParameters, fields: rowFields });
    const valueSchema: ConnectSchema = {
      type: "struct",
      name: `${base}.Envelope`,
      optional: false,
      fields: [row("before"), row("after"), sourceSchema(), { type: "string", optional: false, field: "op" }, { type: "int64", optional: true, field: "ts_ms" }],
    };
    this.#keySchemaJson = JSON.stringify(keySchema);
    this.#valueSchemaJson = JSON.stringify(valueSchema);
    this.#sourcePrefix =
      `{"version":"zero-etl","connector":"zero-etl","name":${JSON.stringify(topicPrefix)},` +
      `"db":${JSON.stringify(schema.table.namespace)},"schema":${JSON.stringify(schema.table.namespace)},"table":${JSON.stringify(schema.table.name)}`;
  }

  /** The key envelope of a row (its primary-key columns). */
  key(row: Row): string {
    let payload = "{";
    for (let i = 0; i < this.#keyColumns.length; i++) {
      const c = this.#keyColumns[i];
      if (c === undefined) continue;
      payload += `${i === 0 ? "" : ","}${JSON.stringify(c.name)}:${writeValue(c.type, row[c.name] ?? null)}`;
    }
    return `{"schema":${this.#keySchemaJson},"payload":${payload}}}`;
  }

  /**
   * The value envelope. `before`/`after` are written column by column in the
   * schema's order; a column absent from the row is written as null (the
   * caller lists unchanged columns in a header).
   */
  value(op: DebeziumOp, before: Row | undefined, after: Row | undefined, source: DebeziumSourceInfo, tsMs: number): string {
    return (
      `{"schema":${this.#valueSchemaJson},"payload":{"before":${this.#row(before)},"after":${this.#row(after)},` +
      `"source":${this.#source(source)},"op":"${op}","ts_ms":${tsMs}}}`
    );
  }

  #row(row: Row | undefined): string {
    if (row === undefined) return "null";
    let out = "{";
    const columns = this.schema.columns;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      if (c === undefined) continue;
      const v: Value = row[c.name] ?? null;
      out += `${i === 0 ? "" : ","}${JSON.stringify(c.name)}:${writeValue(c.type, v)}`;
    }
    return `${out}}`;
  }

  #source(info: DebeziumSourceInfo): string {
    return (
      `${this.#sourcePrefix},"ts_ms":${info.tsMs},"snapshot":"${info.snapshot ? "true" : "false"}",` +
      `"txId":${info.txId === undefined ? "null" : JSON.stringify(info.txId)},"pos":${info.position === undefined ? "null" : JSON.stringify(info.position)}}`
    );
  }
}
