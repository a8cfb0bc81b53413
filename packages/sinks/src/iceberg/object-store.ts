/**
 * The few storage operations the Iceberg sink needs. Locations are absolute:
 * a local path (`/data/wh/db/t/data/x.parquet`) or an `s3://bucket/key` URI.
 */
export interface ObjectStore {
  /**
   * Writes an object. With `exclusive`, fails with a `CommitConflictError`
   * when the object already exists (local: `wx` create; S3: `If-None-Match: *`).
   */
  put(location: string, body: Uint8Array, options?: { readonly exclusive?: boolean }): Promise<void>;
  /** Reads an object, or undefined when it does not exist. */
  get(location: string): Promise<Uint8Array | undefined>;
  /** Every object location under a prefix (recursive). */
  list(prefix: string): Promise<string[]>;
  /**
   * Optional. Every object under a prefix (recursive) with its last
   * modification time. Orphan-file removal needs it to spare the files of
   * commits in flight; without it, orphan removal deletes nothing.
   */
  listEntries?(prefix: string): Promise<ObjectEntry[]>;
  /** Removes an object; removing a missing object is not an error. */
  delete(location: string): Promise<void>;
  /**
   * Optional. Removes the empty directories at and under a prefix, once its
   * objects are deleted (a dropped table must not leave an empty table
   * directory that a directory-listing reader takes for a table). Stores
   * without directories (S3) need not have it.
   */
  prune?(prefix: string): Promise<void>;
}

/** An object and when it was last written. */
export interface ObjectEntry {
  readonly location: string;
  /** Last modification, epoch milliseconds. */
  readonly modifiedMs: number;
}

/** Joins a location and path parts with single slashes. */
export function joinLocation(base: string, ...parts: readonly string[]): string {
  let out = base.replace(/\/+$/, "");
  for (const part of parts) out += `/${part.replace(/^\/+/, "")}`;
  return out;
}
