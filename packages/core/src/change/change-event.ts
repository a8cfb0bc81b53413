import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";

/** Fields every change event carries. */
interface ChangeEventBase {
  readonly table: TableRef;
  /**
   * The source's serialized position of this event (an LSN, a binlog
   * file:offset, a shard sequence number). Opaque outside the source; used in
   * the dead-letter queue, history mode and sinks' replay guards. Within one
   * partition, positions compare with the source's {@link PositionCodec}.
   */
  readonly position: string;
  /** Commit time at the source in milliseconds since the epoch, when the source reports one. */
  readonly commitTime?: number;
  /** Transaction id at the source, when it has one. */
  readonly transactionId?: string;
  /**
   * The serialized position of the commit of the event's transaction, when
   * the source knows it and it differs from `position` (PostgreSQL: a row's
   * WAL record comes before its transaction's commit record). The runtime
   * uses it to tell whether a re-read of the table taken at some position
   * already saw the event.
   */
  readonly commitPosition?: string;
}

/** A new row. `after` is the full row. */
export interface InsertEvent extends ChangeEventBase {
  readonly op: "insert";
  readonly after: Row;
}

/**
 * A changed row. `key` is the primary-key image *before* the update, so an
 * update that changes the key can be applied as delete-old + upsert-new.
 * `before` is present only when the source has it (PostgreSQL `REPLICA
 * IDENTITY FULL`, MySQL full row image, DynamoDB `NEW_AND_OLD_IMAGES`).
 * `unchanged` lists columns whose new value the source did not send
 * (PostgreSQL unchanged TOAST): they are absent from `after`, and a sink must
 * keep the target's current value for them.
 */
export interface UpdateEvent extends ChangeEventBase {
  readonly op: "update";
  readonly key: Row;
  readonly before?: Row;
  readonly after: Row;
  readonly unchanged?: readonly string[];
}

/**
 * A removed row: `key` always, `before` when the source has the full old row.
 *
 * With `match: "columns"` the event removes every row whose columns in `key`
 * equal it, where `key` holds only some of the table's key columns (the
 * children of one parent row in an unnested child table, when the old list is
 * unknown). Sinks that cannot delete by a subset of columns must reject it.
 */
export interface DeleteEvent extends ChangeEventBase {
  readonly op: "delete";
  readonly key: Row;
  readonly before?: Row;
  readonly match?: "key" | "columns";
}

/** Every row of the table was removed. */
export interface TruncateEvent extends ChangeEventBase {
  readonly op: "truncate";
}

/**
 * The table's schema changed at this position; events after it use `schema`.
 * `previous` is the schema in force before, when known. `renamed` maps new
 * column names to old ones when the source says a column was renamed.
 */
export interface SchemaChangeEvent extends ChangeEventBase {
  readonly op: "schema";
  readonly schema: TableSchema;
  readonly previous?: TableSchema;
  readonly renamed?: Readonly<Record<string, string>>;
}

/** One change at the source. Discriminated on `op`. */
export type ChangeEvent = InsertEvent | UpdateEvent | DeleteEvent | TruncateEvent | SchemaChangeEvent;

/** A change that carries row data (not truncate or schema). */
export type RowChangeEvent = InsertEvent | UpdateEvent | DeleteEvent;

/** The operation names, in the order metrics list them. */
export const CHANGE_OPS = ["insert", "update", "delete", "truncate", "schema"] as const;

/** The discriminant of {@link ChangeEvent}. */
export type ChangeOp = ChangeEvent["op"];

/** True for insert, update and delete. */
export function isRowChange(event: ChangeEvent): event is RowChangeEvent {
  return event.op === "insert" || event.op === "update" || event.op === "delete";
}
