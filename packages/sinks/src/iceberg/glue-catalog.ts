import { randomUUID } from "node:crypto";
import { ZeroEtlError } from "@zero-etl/core";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { IcebergCatalog, LoadedTable, TableIdentifier } from "./iceberg-catalog.js";
import { joinLocation } from "./object-store.js";
import type { ObjectStore } from "./object-store.js";
import type { TableMetadata } from "./table-metadata.js";

/** The Glue `TableInput` fields the sink sets (AWS Glue API). */
export interface GlueTableInput {
  readonly Name: string;
  readonly TableType: "EXTERNAL_TABLE";
  readonly Parameters: Readonly<Record<string, string>>;
  readonly StorageDescriptor: { readonly Location: string };
}

/** The slice of an AWS Glue client the catalog uses (e.g. wrap `@aws-sdk/client-glue`'s `send`). */
export interface GlueClientLike {
  getTable(input: { readonly DatabaseName: string; readonly Name: string }): Promise<{ readonly Parameters?: Readonly<Record<string, string>>; readonly VersionId?: string } | undefined>;
  createTable(input: { readonly DatabaseName: string; readonly TableInput: GlueTableInput }): Promise<void>;
  updateTable(input: { readonly DatabaseName: string; readonly TableInput: GlueTableInput; readonly VersionId?: string }): Promise<void>;
  /** Optional: needed only to drop tables whose source table is gone. A missing table must not be an error. */
  deleteTable?(input: { readonly DatabaseName: string; readonly Name: string }): Promise<void>;
}

/** Settings of the Glue catalog. */
export interface GlueCatalogOptions {
  readonly client: GlueClientLike;
  readonly warehouse: string;
  readonly store: ObjectStore;
}

/**
 * An Iceberg catalog on AWS Glue, shaped as Iceberg's GlueCatalog does it:
 * metadata files `metadata/NNNNN-<uuid>.metadata.json` in the table location,
 * and the Glue table's parameters `table_type=ICEBERG`, `metadata_location`
 * and `previous_metadata_location`. A commit checks that Glue still points at
 * the base metadata and updates with the table's `VersionId` (Glue's optimistic lock).
 */
export function createGlueCatalog(options: GlueCatalogOptions): IcebergCatalog {
  const { client, store } = options;
  const location = (id: TableIdentifier): string => joinLocation(options.warehouse, `${id.namespace}.db`, id.name);
  const versionOf = (path: string): number => Number(/\/(\d{5})-[^/]+\.metadata\.json$/.exec(path)?.[1] ?? "0");

  const writeMetadata = async (metadata: TableMetadata, version: number): Promise<string> => {
    const path = joinLocation(metadata.location, "metadata", `${String(version).padStart(5, "0")}-${randomUUID()}.metadata.json`);
    await store.put(path, Buffer.from(JSON.stringify(metadata)), { exclusive: true });
    return path;
  };

  const input = (id: TableIdentifier, metadataLocation: string, previous?: string): GlueTableInput => ({
    Name: id.name,
    TableType: "EXTERNAL_TABLE",
    Parameters: { table_type: "ICEBERG", metadata_location: metadataLocation, ...(previous === undefined ? {} : { previous_metadata_location: previous }) },
    StorageDescriptor: { Location: location(id) },
  });

  const loadTable = async (id: TableIdentifier): Promise<LoadedTable | undefined> => {
    const table = await client.getTable({ DatabaseName: id.namespace, Name: id.name });
    const metadataLocation = table?.Parameters?.["metadata_location"];
    if (metadataLocation === undefined) return undefined;
    const bytes = await store.get(metadataLocation);
    if (bytes === undefined) return undefined;
    return { metadata: JSON.parse(Buffer.from(bytes).toString("utf8")) as TableMetadata, metadataLocation };
  };

  return {
    kind: "glue",
    loadTable,
    async createTable(id, metadata) {
      const existing = await loadTable(id);
      if (existing !== undefined) return existing;
      const placed = { ...metadata, location: location(id) };
      const path = await writeMetadata(placed, 0);
      await client.createTable({ DatabaseName: id.namespace, TableInput: input(id, path) });
      return { metadata: placed, metadataLocation: path };
    },
    async dropTable(id) {
      if (client.deleteTable === undefined) {
        throw new ZeroEtlError(`glue table ${id.namespace}.${id.name} cannot be dropped: the glue client given has no deleteTable`, { code: "config-invalid", table: `${id.namespace}.${id.name}` });
      }
      if ((await client.getTable({ DatabaseName: id.namespace, Name: id.name })) === undefined) return;
      await client.deleteTable({ DatabaseName: id.namespace, Name: id.name });
    },
    async commitTable(id, commit) {
      const current = await client.getTable({ DatabaseName: id.namespace, Name: id.name });
      if (current?.Parameters?.["metadata_location"] !== commit.base.metadataLocation) {
        throw new CommitConflictError(`glue table ${id.namespace}.${id.name} no longer points at the base metadata`);
      }
      const path = await writeMetadata(commit.metadata, versionOf(commit.base.metadataLocation) + 1);
      try {
        await client.updateTable({
          DatabaseName: id.namespace,
          TableInput: input(id, path, commit.base.metadataLocation),
          ...(current.VersionId === undefined ? {} : { VersionId: current.VersionId }),
        });
      } catch (error) {
        if ((error as { name?: string }).name === "ConcurrentModificationException") {
          await store.delete(path);
          throw new CommitConflictError(`glue table ${id.namespace}.${id.name} was updated concurrently`, error);
        }
        throw error;
      }
      return { metadata: commit.metadata, metadataLocation: path };
    },
  };
}
