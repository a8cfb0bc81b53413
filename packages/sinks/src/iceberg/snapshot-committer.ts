import { randomUUID } from "node:crypto";
import { ZeroEtlError } from "@zero-etl/core";
import type { Logger } from "@zero-etl/core";
import { CommitConflictError } from "./iceberg-catalog.js";
import { MissingTableFileError } from "./missing-table-file-error.js";
import type { IcebergCatalog, LoadedTable, TableIdentifier } from "./iceberg-catalog.js";
import { decodeManifest, decodeManifestList, encodeManifest, encodeManifestList } from "./manifest-codec.js";
import type { DataFileRecord, FieldSummaryRecord, ManifestEntryRecord, ManifestFileRecord, PartitionAvroField } from "./manifest-codec.js";
import { joinLocation } from "./object-store.js";
import type { ObjectStore } from "./object-store.js";
import { partitionAvroFields, summarizePartitions } from "./partition-layout.js";
import { currentSchema, currentSnapshot, newSnapshotId } from "./table-metadata.js";
import type { Snapshot, TableMetadata } from "./table-metadata.js";

/** A data or delete file already written to storage, waiting for a snapshot. */
export interface PendingFile {
  readonly specId: number;
  readonly file: DataFileRecord;
  /**
   * An explicit data sequence number: compaction gives rewritten files the
   * sequence number of the snapshot it read, so that deletes committed later
   * still apply to them. Absent: inherited from the new snapshot.
   */
  readonly dataSequenceNumber?: number;
}

/** What one snapshot changes. */
export interface SnapshotChange {
  readonly dataFiles: readonly PendingFile[];
  readonly deleteFiles: readonly PendingFile[];
  /** Drop every file of the parent snapshot (truncate). */
  readonly replaceAll?: boolean;
  /** Paths of live files this snapshot removes (compaction), marked DELETED in rewritten manifests. */
  readonly removePaths?: ReadonlySet<string>;
  /** `append`, `overwrite`, `delete` or `replace`; derived when absent. */
  readonly operation?: "append" | "overwrite" | "delete" | "replace";
  /** Extra summary properties (e.g. the pipeline checkpoint). */
  readonly summary?: Readonly<Record<string, string>>;
}

/** Options of {@link commitSnapshot}. */
export interface CommitSnapshotOptions {
  readonly catalog: IcebergCatalog;
  readonly store: ObjectStore;
  readonly id: TableIdentifier;
  readonly base: LoadedTable;
  readonly change: SnapshotChange;
  readonly maxAttempts?: number;
  readonly logger?: Logger;
}

/** A manifest file entry read back with its entries' inherited sequence numbers resolved. */
export interface LiveFile {
  readonly specId: number;
  readonly dataSequenceNumber: number;
  readonly fileSequenceNumber: number;
  readonly snapshotId: number;
  readonly file: DataFileRecord;
}

/**
 * Lists the live data and delete files of a table's current snapshot (entries
 * with status ADDED or EXISTING), resolving inherited sequence numbers.
 */
export async function listLiveFiles(store: ObjectStore, metadata: TableMetadata): Promise<{ manifests: ManifestFileRecord[]; files: LiveFile[] }> {
  const snapshot = currentSnapshot(metadata);
  if (snapshot === undefined) return { manifests: [], files: [] };
  const listBytes = await store.get(snapshot["manifest-list"]);
  if (listBytes === undefined) throw new MissingTableFileError("manifest list", snapshot["manifest-list"]);
  const manifests = decodeManifestList(listBytes);
  const files: LiveFile[] = [];
  for (const m of manifests) {
    const bytes = await store.get(m.manifest_path);
    if (bytes === undefined) throw new MissingTableFileError("manifest", m.manifest_path);
    for (const e of decodeManifest(bytes).entries) {
      if (e.status === 2) continue;
      files.push({
        specId: m.partition_spec_id,
        dataSequenceNumber: e.sequence_number ?? m.sequence_number,
        fileSequenceNumber: e.file_sequence_number ?? m.sequence_number,
        snapshotId: e.snapshot_id ?? m.added_snapshot_id,
        file: e.data_file,
      });
    }
  }
  return { manifests, files };
}

/**
 * Commits one snapshot: writes the new manifests and manifest list, builds
 * the next metadata (sequence number, snapshot log, metadata log, main ref)
 * and asks the catalog to swap it in atomically. On a conflict, or when the
 * base names files that are gone (snapshot expiry ran since `base` was
 * loaded), it reloads the table and rebuilds manifests on the fresh base
 * (data files are reused), up to `maxAttempts` times. Returns the committed table.
 */
export async function commitSnapshot(options: CommitSnapshotOptions): Promise<LoadedTable> {
  const { catalog, store, id, change } = options;
  let base = options.base;
  const maxAttempts = options.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      const commit = await buildCommit(store, base, change);
      return await catalog.commitTable(id, { base, metadata: commit.metadata, requirements: commit.requirements, updates: commit.updates });
    } catch (error) {
      const stale = error instanceof MissingTableFileError;
      if (!(error instanceof CommitConflictError || stale) || attempt >= maxAttempts) throw error;
      options.logger?.info("iceberg commit conflict, retrying on a fresh base", { table: `${id.namespace}.${id.name}`, attempt, stale });
      const fresh = await catalog.loadTable(id);
      if (fresh === undefined) throw error;
      // a file missing from the newest metadata is damage, not a stale base
      if (stale && fresh.metadataLocation === base.metadataLocation) throw error;
      base = fresh;
      await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** attempt) * Math.random()));
    }
  }
}

interface BuiltCommit {
  readonly metadata: TableMetadata;
  readonly requirements: readonly Record<string, unknown>[];
  readonly updates: readonly Record<string, unknown>[];
}

function sum(files: readonly PendingFile[] | readonly LiveFile[], pick: (f: DataFileRecord) => number): number {
  let total = 0;
  for (const f of files) total += pick(f.file);
  return total;
}

async function buildCommit(store: ObjectStore, base: LoadedTable, change: SnapshotChange): Promise<BuiltCommit> {
  const metadata = base.metadata;
  const parent = currentSnapshot(metadata);
  const sequenceNumber = metadata["last-sequence-number"] + 1;
  const snapshotId = newSnapshotId();
  const schema = currentSchema(metadata);
  const metadataDir = joinLocation(metadata.location, "metadata");
  const commitId = randomUUID();

  const manifests: ManifestFileRecord[] = [];
  let removedData = 0;
  let removedDeletes = 0;
  let removedRecords = 0;
  let removedSize = 0;
  if (parent !== undefined && change.replaceAll !== true) {
    const live = await listLiveFiles(store, metadata);
    const remove = change.removePaths;
    if (remove === undefined || remove.size === 0) {
      manifests.push(...live.manifests);
    } else {
      // Rewrite every manifest that holds a removed file; keep the others untouched.
      let n = 0;
      let found = 0;
      for (const m of live.manifests) {
        const bytes = await store.get(m.manifest_path);
        if (bytes === undefined) throw new MissingTableFileError("manifest", m.manifest_path);
        const decoded = decodeManifest(bytes);
        const touched = decoded.entries.some((e) => e.status !== 2 && remove.has(e.data_file.file_path));
        if (!touched) {
          manifests.push(m);
          continue;
        }
        const entries: ManifestEntryRecord[] = [];
        for (const e of decoded.entries) {
          if (e.status === 2) continue;
          const seq = e.sequence_number ?? m.sequence_number;
          const fileSeq = e.file_sequence_number ?? m.sequence_number;
          const removed = remove.has(e.data_file.file_path);
          if (removed) {
            found++;
            if (e.data_file.content === 0) removedData++;
            else removedDeletes++;
            removedRecords += e.data_file.content === 0 ? e.data_file.record_count : 0;
            removedSize += e.data_file.file_size_in_bytes;
          }
          entries.push({
            status: removed ? 2 : 0,
            snapshot_id: removed ? snapshotId : (e.snapshot_id ?? m.added_snapshot_id),
            sequence_number: seq,
            file_sequence_number: fileSeq,
            data_file: e.data_file,
          });
        }
        const path = joinLocation(metadataDir, `${commitId}-m${n++}-rewritten.avro`);
        const bytesOut = encodeManifest({ entries, partition: partitionFieldsOf(metadata, m.partition_spec_id), metadata: decoded.metadata });
        await store.put(path, bytesOut);
        const keep = entries.filter((e) => e.status === 0);
        const gone = entries.filter((e) => e.status === 2);
        manifests.push({
          ...m,
          manifest_path: path,
          manifest_length: bytesOut.length,
          sequence_number: sequenceNumber,
          min_sequence_number: Math.min(...entries.map((e) => e.sequence_number ?? sequenceNumber)),
          added_snapshot_id: snapshotId,
          added_files_count: 0,
          existing_files_count: keep.length,
          deleted_files_count: gone.length,
          added_rows_count: 0,
          existing_rows_count: keep.reduce((a, e) => a + e.data_file.record_count, 0),
          deleted_rows_count: gone.reduce((a, e) => a + e.data_file.record_count, 0),
        });
      }
      // A concurrent commit removed some of them (a truncate): replacing the
      // rest would bring back rows that commit deleted.
      if (found < remove.size) throw new ZeroEtlError(`${remove.size - found} file(s) to replace are no longer live in ${metadata.location}; nothing replaced`, { code: "sink-failed" });
    }
  }

  const newManifests: ManifestFileRecord[] = [];
  const groups = new Map<string, { specId: number; content: 0 | 1; files: PendingFile[] }>();
  for (const f of change.dataFiles) pushGroup(groups, f, 0);
  for (const f of change.deleteFiles) pushGroup(groups, f, 1);
  let n = 0;
  for (const group of groups.values()) {
    const partition = partitionFieldsOf(metadata, group.specId);
    const spec = metadata["partition-specs"].find((s) => s["spec-id"] === group.specId);
    const entries: ManifestEntryRecord[] = group.files.map((f) => ({
      status: 1,
      snapshot_id: null,
      sequence_number: f.dataSequenceNumber ?? null,
      file_sequence_number: null,
      data_file: f.file,
    }));
    const bytes = encodeManifest({
      entries,
      partition,
      metadata: {
        schema: JSON.stringify(schema),
        "schema-id": String(schema["schema-id"]),
        "partition-spec": JSON.stringify(spec?.fields ?? []),
        "partition-spec-id": String(group.specId),
        "format-version": "2",
        content: group.content === 0 ? "data" : "deletes",
      },
    });
    const path = joinLocation(metadataDir, `${commitId}-m${n++}.avro`);
    await store.put(path, bytes);
    const summaries: FieldSummaryRecord[] | null = partition.length === 0 ? null : summarizePartitions(metadata, group.specId, group.files.map((f) => f.file.partition));
    newManifests.push({
      manifest_path: path,
      manifest_length: bytes.length,
      partition_spec_id: group.specId,
      content: group.content,
      sequence_number: sequenceNumber,
      min_sequence_number: Math.min(sequenceNumber, ...group.files.map((f) => f.dataSequenceNumber ?? sequenceNumber)),
      added_snapshot_id: snapshotId,
      added_files_count: entries.length,
      existing_files_count: 0,
      deleted_files_count: 0,
      added_rows_count: sum(group.files, (f) => f.record_count),
      existing_rows_count: 0,
      deleted_rows_count: 0,
      partitions: summaries,
      key_metadata: null,
    });
  }
  // Delete manifests first, then data manifests: readers plan deletes before data.
  const ordered = [...newManifests.filter((m) => m.content === 1), ...newManifests.filter((m) => m.content === 0), ...manifests];

  const listPath = joinLocation(metadataDir, `snap-${snapshotId}-1-${commitId}.avro`);
  await store.put(
    listPath,
    encodeManifestList(ordered, {
      "snapshot-id": String(snapshotId),
      "parent-snapshot-id": parent === undefined ? "null" : String(parent["snapshot-id"]),
      "sequence-number": String(sequenceNumber),
      "format-version": "2",
    }),
  );

  const prev: Readonly<Record<string, string>> = change.replaceAll === true ? {} : (parent?.summary ?? {});
  const total = (key: string): number => Number(prev[key] ?? "0");
  const addedRecords = sum(change.dataFiles, (f) => f.record_count);
  const addedDeletes = sum(change.deleteFiles, (f) => f.record_count);
  const addedSize = sum(change.dataFiles, (f) => f.file_size_in_bytes) + sum(change.deleteFiles, (f) => f.file_size_in_bytes);
  const operation =
    change.operation ??
    (change.replaceAll === true ? "overwrite" : change.deleteFiles.length > 0 ? (change.dataFiles.length > 0 ? "overwrite" : "delete") : "append");
  const summary: Record<string, string> & { operation: string } = {
    operation,
    "added-data-files": String(change.dataFiles.length),
    "added-records": String(addedRecords),
    "added-files-size": String(addedSize),
    "added-delete-files": String(change.deleteFiles.length),
    "added-equality-delete-files": String(change.deleteFiles.length),
    "added-equality-deletes": String(addedDeletes),
    ...(removedData > 0 ? { "deleted-data-files": String(removedData), "deleted-records": String(removedRecords) } : {}),
    ...(removedDeletes > 0 ? { "removed-delete-files": String(removedDeletes) } : {}),
    ...(removedSize > 0 ? { "removed-files-size": String(removedSize) } : {}),
    "total-records": String(total("total-records") + addedRecords - removedRecords),
    "total-data-files": String(total("total-data-files") + change.dataFiles.length - removedData),
    "total-delete-files": String(total("total-delete-files") + change.deleteFiles.length - removedDeletes),
    "total-equality-deletes": String(change.removePaths !== undefined && removedDeletes > 0 ? 0 : total("total-equality-deletes") + addedDeletes),
    "total-position-deletes": "0",
    "total-files-size": String(total("total-files-size") + addedSize - removedSize),
    ...change.summary,
  };
  const now = Date.now();
  const snapshot: Snapshot = {
    "snapshot-id": snapshotId,
    ...(parent === undefined ? {} : { "parent-snapshot-id": parent["snapshot-id"] }),
    "sequence-number": sequenceNumber,
    "timestamp-ms": now,
    "manifest-list": listPath,
    summary,
    "schema-id": schema["schema-id"],
  };
  const next: TableMetadata = {
    ...metadata,
    "last-sequence-number": sequenceNumber,
    "last-updated-ms": now,
    "current-snapshot-id": snapshotId,
    snapshots: [...metadata.snapshots, snapshot],
    "snapshot-log": [...metadata["snapshot-log"], { "snapshot-id": snapshotId, "timestamp-ms": now }],
    "metadata-log": [...metadata["metadata-log"], { "metadata-file": base.metadataLocation, "timestamp-ms": metadata["last-updated-ms"] }],
    refs: { ...metadata.refs, main: { "snapshot-id": snapshotId, type: "branch" } },
  };
  return {
    metadata: next,
    requirements: [
      { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
      { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": parent === undefined ? null : parent["snapshot-id"] },
    ],
    updates: [
      { action: "add-snapshot", snapshot },
      { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId },
    ],
  };
}

function pushGroup(groups: Map<string, { specId: number; content: 0 | 1; files: PendingFile[] }>, file: PendingFile, content: 0 | 1): void {
  const key = `${content}:${file.specId}`;
  let group = groups.get(key);
  if (group === undefined) {
    group = { specId: file.specId, content, files: [] };
    groups.set(key, group);
  }
  group.files.push(file);
}

function partitionFieldsOf(metadata: TableMetadata, specId: number): PartitionAvroField[] {
  return partitionAvroFields(metadata, specId);
}
