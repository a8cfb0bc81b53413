import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { icebergManifests } from "icebird";

/** A live file of an Iceberg table's current snapshot. */
export interface SnapshotFile {
  readonly path: string;
  /** 0 data, 1 position deletes, 2 equality deletes. */
  readonly content: number;
  /** The data sequence number: an equality delete removes rows of files with a smaller one. */
  readonly sequence: bigint;
  readonly records: bigint;
  /** The file's partition values, e.g. `{ order_day: "2026-03-01" }`. */
  readonly partition: Record<string, unknown>;
}

/**
 * The files of the current snapshot of the filesystem Iceberg table at
 * `location`: the metadata JSON named by `version-hint.text`, then the
 * manifest list and manifests (Avro) through icebird, whose reads go to
 * local files here. Manifest entries marked deleted are left out.
 */
export async function currentSnapshotFiles(location: string): Promise<{ snapshotId: string; files: SnapshotFile[] }> {
  const metadataDir = join(location, "metadata");
  const version = (await readFile(join(metadataDir, "version-hint.text"), "utf8")).trim();
  const metadata = JSON.parse(await readFile(join(metadataDir, `v${version}.metadata.json`), "utf8")) as { "current-snapshot-id": number };
  const manifests = await withLocalFiles(() => icebergManifests(metadata as never));
  type Entry = { status: number; sequence_number: bigint | number; data_file: { content: number; file_path: string; record_count: bigint | number; partition: Record<string, unknown> } };
  const files = manifests
    .flatMap((m) => m.entries as unknown as Entry[])
    .filter((e) => e.status !== 2)
    .map((e) => ({
      path: localPath(e.data_file.file_path),
      content: e.data_file.content,
      sequence: BigInt(e.sequence_number),
      records: BigInt(e.data_file.record_count),
      partition: e.data_file.partition,
    }));
  return { snapshotId: String(metadata["current-snapshot-id"]), files };
}

function localPath(path: string): string {
  return path.startsWith("file://") ? decodeURIComponent(path.slice("file://".length)) : path;
}

/** Lets icebird's `fetch` read absolute local paths (with byte ranges) for the duration of `work`. */
async function withLocalFiles<T>(work: () => Promise<T>): Promise<T> {
  const network = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const path = localPath(url);
    if (!path.startsWith("/")) return network(input, init);
    if (init?.method === "HEAD") return new Response(null, { headers: { "content-length": String((await stat(path)).size) } });
    const bytes = await readFile(path);
    const range = /bytes=(\d+)-(\d*)/.exec(new Headers(init?.headers).get("range") ?? "");
    if (range === null) return new Response(bytes, { headers: { "content-length": String(bytes.length) } });
    const start = Number(range[1]);
    const end = range[2] === "" ? bytes.length - 1 : Number(range[2]);
    return new Response(bytes.subarray(start, end + 1), { status: 206, headers: { "content-length": String(end + 1 - start) } });
  }) as typeof fetch;
  try {
    return await work();
  } finally {
    globalThis.fetch = network;
  }
}
