import type { TableSchema } from "../schema/table-schema.js";

/** One column of a {@link SnapshotCopy}, as the source holds it. */
export interface SnapshotCopyColumn {
  /** The column's name (a column of the chunk's schema). */
  readonly name: string;
  /** The source's type OID (PostgreSQL: `pg_type.oid`); below 16384 it is a built-in type, the same on every server. */
  readonly typeOid: number;
  /** The type without modifiers, as PostgreSQL's `format_type(oid, NULL)` spells it (`numeric`, `character varying`, `integer[]`). */
  readonly typeName: string;
}

/**
 * One part of a table's rows as a byte stream in PostgreSQL's binary COPY
 * format (signature, header, tuples of {@link SnapshotCopy.columns} in that
 * order, trailer).
 */
export interface SnapshotCopyPart {
  /**
   * Reads the part. Every call reads it anew, inside the snapshot (a loader
   * that failed half-way may read it again). Breaking off the iteration
   * releases what the read holds.
   */
  read(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/**
 * Where a {@link SnapshotCopy} can be read by other processes: the source's
 * exported snapshot and the relation's storage, so that a sink that hands
 * ranges of the table out as work items (the Kafka target's distributed
 * snapshot) can have other machines read them inside the same snapshot.
 */
export interface SnapshotCopyExport {
  /** The exported snapshot's name (`SET TRANSACTION SNAPSHOT`), valid while the source holds it: until the snapshot's chunks end. */
  readonly snapshot: string;
  /** The relation's OID at the source (`pg_class.oid`), a plain table read by CTID ranges. */
  readonly relationOid: number;
  /** The relation's size in blocks when the snapshot began; rows in blocks added later are in the open-ended last range. */
  readonly blocks: number;
  /**
   * Resolves once no session that imported the snapshot to read a range is
   * connected any more (readers name themselves with
   * {@link snapshotReaderApplicationName}). Called after the snapshot's
   * chunks ended (the snapshot can no longer be imported), so that no range
   * read before can land in a target after the stream that follows.
   */
  readersGone(signal?: AbortSignal): Promise<void>;
}

/** The `application_name` a process reading a range of an exported snapshot connects with (see {@link SnapshotCopyExport.readersGone}). */
export function snapshotReaderApplicationName(snapshot: string): string {
  return `zero-etl chunk ${snapshot}`;
}

/**
 * A whole table's snapshot rows as PostgreSQL binary COPY streams instead of
 * decoded rows (`SnapshotChunk.copy`), so a PostgreSQL target can load them
 * with `COPY … FROM STDIN (FORMAT binary)` without decoding them.
 *
 * The parts together hold every row of the table in the snapshot exactly
 * once; they may be read in any order and `parallelism` at a time.
 */
export interface SnapshotCopy {
  readonly format: "postgresql-binary";
  readonly columns: readonly SnapshotCopyColumn[];
  readonly parts: readonly SnapshotCopyPart[];
  /** How many parts the source serves at once (its connections); a loader reads at most this many together. */
  readonly parallelism: number;
  /** Optional: how other processes can read the table inside the same snapshot (plain PostgreSQL tables with TID range scans). */
  readonly exported?: SnapshotCopyExport;
}

/**
 * Asked by a source, per table when its turn comes (`SnapshotOptions.copy`),
 * whether to deliver the table as a {@link SnapshotCopy} rather than rows.
 */
export type SnapshotCopyPredicate = (schema: TableSchema, columns: readonly SnapshotCopyColumn[]) => boolean;
