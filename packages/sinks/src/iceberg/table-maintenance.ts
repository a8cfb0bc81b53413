import type { Row } from "@zero-etl/core";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { IcebergCatalog, LoadedTable, TableCommit, TableIdentifier } from "./iceberg-catalog.js";
import { readIcebergTable } from "./iceberg-table-reader.js";
import { decodeManifestList } from "./manifest-codec.js";
import { decodeManifest } from "./manifest-codec.js";
import { joinLocation } from "./object-store.js";
import type { ObjectEntry, ObjectStore } from "./object-store.js";
import { commitSnapshot } from "./snapshot-committer.js";
import type { PendingFile } from "./snapshot-committer.js";
import { currentSnapshot } from "./table-metadata.js";
import type { Snapshot, TableMetadata } from "./table-metadata.js";

/** What a maintenance call did. */
export interface MaintenanceResult {
  readonly filesDeleted: number;
  readonly snapshotsExpired: number;
  /** The table after the call, when it committed. */
  readonly table?: LoadedTable;
}

/** Options of snapshot expiry. */
export interface ExpireSnapshotsOptions {
  /** Snapshots older than this (epoch ms) may go. */
  readonly olderThanMs: number;
  /** The newest snapshots always kept, whatever their age; at least 1 (the current one). */
  readonly retainLast: number;
}

/** Options of {@link compactIcebergTable}. */
export interface CompactTableOptions {
  readonly store: ObjectStore;
  readonly catalog: IcebergCatalog;
  readonly id: TableIdentifier;
  readonly base: LoadedTable;
  /** Writes rows as data files of the table's current schema and spec. */
  readonly writeRows: (rows: readonly Row[]) => Promise<PendingFile[]>;
  readonly summary?: Readonly<Record<string, string>>;
}

/**
 * Rewrites the live rows of a table (equality deletes applied) into new data
 * files and removes every old data and delete file in one `replace`
 * snapshot. The new files carry the sequence number of the snapshot that was
 * read, so equality deletes committed concurrently still apply to them.
 */
export async function compactIcebergTable(options: CompactTableOptions): Promise<MaintenanceResult> {
  const { store, base } = options;
  const snapshot = currentSnapshot(base.metadata);
  if (snapshot === undefined) return { filesDeleted: 0, snapshotsExpired: 0 };
  const contents = await readIcebergTable({ store, metadataLocation: base.metadataLocation });
  const removePaths = new Set(contents.files.map((f) => f.file.file_path));
  if (removePaths.size <= 1 && contents.files.every((f) => f.file.content === 0)) return { filesDeleted: 0, snapshotsExpired: 0 };
  const written = await options.writeRows(contents.rows);
  const dataFiles = written.map((f) => ({ ...f, dataSequenceNumber: snapshot["sequence-number"] }));
  const table = await commitSnapshot({
    catalog: options.catalog,
    store,
    id: options.id,
    base,
    change: { dataFiles, deleteFiles: [], removePaths, operation: "replace", ...(options.summary === undefined ? {} : { summary: options.summary }) },
  });
  return { filesDeleted: 0, snapshotsExpired: 0, table };
}

async function reachableFiles(store: ObjectStore, snapshots: readonly Snapshot[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of snapshots) {
    out.add(s["manifest-list"]);
    const list = await store.get(s["manifest-list"]);
    if (list === undefined) continue;
    for (const m of decodeManifestList(list)) {
      if (out.has(m.manifest_path)) continue;
      out.add(m.manifest_path);
      const bytes = await store.get(m.manifest_path);
      if (bytes === undefined) continue;
      for (const e of decodeManifest(bytes).entries) out.add(e.data_file.file_path);
    }
  }
  return out;
}

/** Options of {@link expireIcebergSnapshots}. */
export interface ExpireIcebergSnapshotsOptions extends ExpireSnapshotsOptions {
  readonly store: ObjectStore;
  readonly catalog: IcebergCatalog;
  readonly id: TableIdentifier;
  readonly base: LoadedTable;
}

/**
 * Removes snapshots older than `olderThanMs` except the newest `retainLast`
 * and the current one (a `remove-snapshots` commit), then deletes the
 * manifest lists, manifests and data files that only expired snapshots
 * referenced. The commit requires the current snapshot it planned with, so a
 * writer committing meanwhile makes it start over on the fresh table; files
 * reachable from the current snapshot (which every later commit builds on)
 * are never deleted.
 */
export async function expireIcebergSnapshots(options: ExpireIcebergSnapshotsOptions): Promise<MaintenanceResult> {
  const { store } = options;
  let base = options.base;
  for (let attempt = 1; ; attempt++) {
    const plan = planExpiry(base, options);
    if (plan === undefined) return { filesDeleted: 0, snapshotsExpired: 0 };
    let table: LoadedTable;
    try {
      table = await options.catalog.commitTable(options.id, { base, ...plan.commit });
    } catch (error) {
      if (!(error instanceof CommitConflictError) || attempt >= 8) throw error;
      const fresh = await options.catalog.loadTable(options.id);
      if (fresh === undefined) throw error;
      base = fresh;
      continue;
    }
    const live = await reachableFiles(store, plan.kept);
    const dead = await reachableFiles(store, plan.expired);
    let filesDeleted = 0;
    for (const path of dead) {
      if (live.has(path)) continue;
      await store.delete(path);
      filesDeleted++;
    }
    return { filesDeleted, snapshotsExpired: plan.expired.length, table };
  }
}

function planExpiry(base: LoadedTable, options: ExpireSnapshotsOptions): { kept: Snapshot[]; expired: Snapshot[]; commit: Omit<TableCommit, "base"> } | undefined {
  const metadata = base.metadata;
  const current = currentSnapshot(metadata);
  const sorted = [...metadata.snapshots].sort((a, b) => b["timestamp-ms"] - a["timestamp-ms"]);
  const keepIds = new Set<number>(sorted.slice(0, Math.max(1, options.retainLast)).map((s) => s["snapshot-id"]));
  if (current !== undefined) keepIds.add(current["snapshot-id"]);
  for (const ref of Object.values(metadata.refs)) keepIds.add(ref["snapshot-id"]);
  for (const s of sorted) if (s["timestamp-ms"] >= options.olderThanMs) keepIds.add(s["snapshot-id"]);
  const expired = metadata.snapshots.filter((s) => !keepIds.has(s["snapshot-id"]));
  if (expired.length === 0) return undefined;
  const kept = metadata.snapshots.filter((s) => keepIds.has(s["snapshot-id"]));
  const next: TableMetadata = {
    ...metadata,
    "last-updated-ms": Date.now(),
    snapshots: kept,
    "snapshot-log": metadata["snapshot-log"].filter((e) => keepIds.has(e["snapshot-id"])),
    "metadata-log": [...metadata["metadata-log"], { "metadata-file": base.metadataLocation, "timestamp-ms": metadata["last-updated-ms"] }],
  };
  return {
    kept,
    expired,
    commit: {
      metadata: next,
      requirements: [
        { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": current === undefined ? null : current["snapshot-id"] },
      ],
      updates: [{ action: "remove-snapshots", "snapshot-ids": expired.map((s) => s["snapshot-id"]) }],
    },
  };
}

/** Options of {@link removeIcebergOrphanFiles}. */
export interface RemoveOrphanFilesOptions {
  readonly store: ObjectStore;
  readonly catalog: IcebergCatalog;
  readonly id: TableIdentifier;
  /**
   * Only files last modified before this (epoch ms) may go. A writer's commit
   * in flight has written its data files, manifests and manifest list but
   * not yet its metadata: they look like orphans until it commits, so this
   * must lie further back than any commit takes (the CLI default: 24 hours).
   */
  readonly olderThanMs: number;
}

/**
 * Deletes files under the table location that neither a snapshot nor a
 * metadata file of the table's newest metadata references (e.g. files of a
 * crashed commit), when they are older than `olderThanMs`. Stores that cannot
 * list modification times (no `listEntries`) delete nothing.
 */
export async function removeIcebergOrphanFiles(options: RemoveOrphanFilesOptions): Promise<MaintenanceResult> {
  const { store, catalog, id } = options;
  const listEntries = store.listEntries?.bind(store);
  const before = await catalog.loadTable(id);
  if (listEntries === undefined || before === undefined) return { filesDeleted: 0, snapshotsExpired: 0 };
  const location = before.metadata.location;
  const old = (entries: readonly ObjectEntry[]): string[] => entries.filter((e) => e.modifiedMs < options.olderThanMs).map((e) => e.location);
  const candidates = [...old(await listEntries(joinLocation(location, "data") + "/")), ...old(await listEntries(joinLocation(location, "metadata") + "/"))];
  if (candidates.length === 0) return { filesDeleted: 0, snapshotsExpired: 0 };
  // loaded after listing: whatever was committed by then is referenced
  const table = (await catalog.loadTable(id)) ?? before;
  const live = await reachableFiles(store, table.metadata.snapshots);
  live.add(table.metadataLocation);
  for (const e of table.metadata["metadata-log"]) live.add(e["metadata-file"]);
  let filesDeleted = 0;
  for (const path of candidates) {
    if (live.has(path) || path.endsWith(".metadata.json") || path.endsWith("version-hint.text")) continue;
    await store.delete(path);
    filesDeleted++;
  }
  return { filesDeleted, snapshotsExpired: 0 };
}
