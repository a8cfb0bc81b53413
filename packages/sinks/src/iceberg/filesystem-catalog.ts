import { CommitConflictError } from "./iceberg-catalog.js";
import type { IcebergCatalog, LoadedTable, TableIdentifier } from "./iceberg-catalog.js";
import { joinLocation } from "./object-store.js";
import type { ObjectStore } from "./object-store.js";
import type { TableMetadata } from "./table-metadata.js";

const VERSION_FILE = /\/v(\d+)\.metadata\.json$/;

/**
 * The Iceberg filesystem ("Hadoop") catalog: `<warehouse>/<namespace>/<table>/metadata/vN.metadata.json`
 * plus `version-hint.text`. A commit creates `v(N+1).metadata.json` exclusively,
 * so of two writers based on vN exactly one wins and the other gets a
 * {@link CommitConflictError}. The hint is advisory; loads take the highest version present.
 */
export function createFilesystemCatalog(options: { readonly warehouse: string; readonly store: ObjectStore }): IcebergCatalog {
  const { store } = options;
  const tableLocation = (id: TableIdentifier): string => joinLocation(options.warehouse, id.namespace, id.name);
  const versionOf = (location: string): number => Number(VERSION_FILE.exec(location)?.[1] ?? "0");

  const load = async (id: TableIdentifier): Promise<LoadedTable | undefined> => {
    const metadataDir = joinLocation(tableLocation(id), "metadata");
    const files = (await store.list(`${metadataDir}/`)).filter((f) => VERSION_FILE.test(f));
    if (files.length === 0) return undefined;
    const latest = files.reduce((a, b) => (versionOf(b) > versionOf(a) ? b : a));
    const bytes = await store.get(latest);
    if (bytes === undefined) return undefined;
    return { metadata: JSON.parse(Buffer.from(bytes).toString("utf8")) as TableMetadata, metadataLocation: latest };
  };

  const write = async (id: TableIdentifier, version: number, metadata: TableMetadata): Promise<LoadedTable> => {
    const metadataDir = joinLocation(tableLocation(id), "metadata");
    const location = joinLocation(metadataDir, `v${version}.metadata.json`);
    await store.put(location, Buffer.from(JSON.stringify(metadata, null, 1)), { exclusive: true });
    await store.put(joinLocation(metadataDir, "version-hint.text"), Buffer.from(String(version)));
    return { metadata, metadataLocation: location };
  };

  return {
    kind: "filesystem",
    loadTable: load,
    async createTable(id, metadata) {
      try {
        return await write(id, 1, metadata);
      } catch (error) {
        if (!(error instanceof CommitConflictError)) throw error;
        const existing = await load(id);
        if (existing === undefined) throw error;
        return existing;
      }
    },
    async commitTable(id, commit) {
      return write(id, versionOf(commit.base.metadataLocation) + 1, commit.metadata);
    },
    async dropTable(id) {
      const root = tableLocation(id);
      const metadataDir = joinLocation(root, "metadata");
      // metadata first, oldest version first: an interrupted drop leaves either
      // the table at its newest version or no table, never an older version
      const versions = (await store.list(`${metadataDir}/`)).filter((f) => VERSION_FILE.test(f)).sort((a, b) => versionOf(a) - versionOf(b));
      for (const file of versions) await store.delete(file);
      await store.delete(joinLocation(metadataDir, "version-hint.text"));
      for (const file of await store.list(`${root}/`)) await store.delete(file);
      // no empty <table>/metadata, <table>/data left behind for a directory-listing reader to take for a table
      await store.prune?.(root);
    },
  };
}

/** Where the filesystem catalog puts a table. */
export function filesystemTableLocation(warehouse: string, id: TableIdentifier): string {
  return joinLocation(warehouse, id.namespace, id.name);
}
