import type { TableRef } from "../schema/table-schema.js";

/**
 * The source asks for a table to be read again from the source, because its
 * rows changed in a way the stream cannot carry: it was created or re-created
 * after the pipeline started, rewritten (a type change with `USING`, a column
 * dropped and added again, a new column whose default every existing row
 * takes), renamed into this name, or moved into the selected tables.
 *
 * The runtime makes everything before it durable, re-snapshots the table into
 * a fresh target table (its old rows and shape are discarded), and resumes the
 * stream. Row and schema events of the table older than `position` are not
 * applied again afterwards: the re-read holds their effect.
 */
export interface TableRefresh {
  readonly kind: "refresh";
  readonly table: TableRef;
  /** Serialized source position of the change that made the re-read necessary. */
  readonly position: string;
  /** The position of the commit of the change's transaction, when the source knows it and it differs from `position` (as `ChangeEvent.commitPosition`). */
  readonly commitPosition?: string;
  /** Why, for logs and `status`, e.g. `table re-created`. */
  readonly reason: string;
}

/**
 * The table is gone from the source, or left the selected tables (dropped,
 * renamed away, moved to another schema). The runtime marks it
 * `dropped-at-source`, drops its target tables where the sink can, and ignores
 * its events until a {@link TableRefresh} brings it back.
 */
export interface TableDrop {
  readonly kind: "dropped";
  readonly table: TableRef;
  readonly position: string;
  /** As {@link TableRefresh.commitPosition}. */
  readonly commitPosition?: string;
  readonly reason: string;
}

/**
 * A change to a whole table, positioned in the stream like an event. A source
 * expresses a rename as a drop of the old name followed by a refresh of the
 * new one.
 */
export type TableChange = TableRefresh | TableDrop;
