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
}

/**
 * Asked by a source, per table when its turn comes (`SnapshotOptions.copy`),
 * whether to deliver the table as a {@link SnapshotCopy} rather than rows.
 */
export type SnapshotCopyPredicate = (schema: TableSchema, columns: readonly SnapshotCopyColumn[]) => boolean;
