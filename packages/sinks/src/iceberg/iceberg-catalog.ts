import { ZeroEtlError } from "@zero-etl/core";
import type { TableMetadata } from "./table-metadata.js";

/** Names a table in a catalog. */
export interface TableIdentifier {
  readonly namespace: string;
  readonly name: string;
}

/** A table as a catalog returns it: its metadata and where that metadata file lives. */
export interface LoadedTable {
  readonly metadata: TableMetadata;
  readonly metadataLocation: string;
}

/**
 * A commit: the metadata it was based on, the full new metadata (for catalogs
 * that write metadata files themselves) and the same change as Iceberg REST
 * `requirements` and `updates` (for catalogs that apply changes server-side).
 */
export interface TableCommit {
  readonly base: LoadedTable;
  readonly metadata: TableMetadata;
  readonly requirements: readonly Readonly<Record<string, unknown>>[];
  readonly updates: readonly Readonly<Record<string, unknown>>[];
}

/**
 * Where table metadata pointers live. `commitTable` is atomic: it succeeds
 * only if the table still is at `base`, otherwise it throws a
 * {@link CommitConflictError} and the caller retries on a fresh base.
 */
export interface IcebergCatalog {
  readonly kind: "filesystem" | "rest" | "glue";
  loadTable(id: TableIdentifier): Promise<LoadedTable | undefined>;
  /** Creates a table from initial metadata; a table that already exists is loaded instead. */
  createTable(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable>;
  commitTable(id: TableIdentifier, commit: TableCommit): Promise<LoadedTable>;
  /**
   * Removes a table from the catalog; a table already absent is not an error.
   * Whether its data files go too depends on the catalog (the filesystem
   * catalog's table is its directory; REST and Glue leave the files).
   */
  dropTable(id: TableIdentifier): Promise<void>;
}

/** Another writer committed first; retry on a fresh base. */
export class CommitConflictError extends ZeroEtlError {
  constructor(message: string, cause?: unknown) {
    super(`iceberg commit conflict: ${message}`, { code: "sink-failed", retryable: true, cause });
    this.name = "CommitConflictError";
  }
}
