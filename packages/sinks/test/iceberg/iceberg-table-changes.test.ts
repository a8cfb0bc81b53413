import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline, type TableSchema } from "@zero-etl/core";
import { createScriptedSource } from "@zero-etl/core/testing";
import { createIcebergSink, createLocalObjectStore } from "@zero-etl/sinks/iceberg";
import { serveLocalFilesToFetch } from "./iceberg-test-kit.js";

// Table changes from the source through the runtime into the Iceberg sink:
// a table renamed away is dropped from the catalog, the new name is read in
// full, a re-created table with another shape replaces the old one. Read
// back by icebird.
const schemaOf = (name: string, valueType: "string" | "int"): TableSchema => ({
  table: { namespace: "app", name },
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "v", type: valueType === "string" ? { kind: "string" } : { kind: "int", bits: 32, signed: true }, nullable: true },
  ],
});
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe("iceberg sink: table changes from the source", () => {
  let warehouse: string;
  let restoreFetch: () => void;
  beforeAll(async () => {
    warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-tc-"));
    restoreFetch = serveLocalFilesToFetch();
  });
  afterAll(async () => {
    restoreFetch?.();
    await rm(warehouse, { recursive: true, force: true });
  });

  const tableRows = async (name: string): Promise<unknown[] | undefined> => {
    const location = join(warehouse, "lake", name);
    const files = await readdir(join(location, "metadata")).catch(() => []);
    if (!files.some((f) => f.endsWith(".metadata.json"))) return undefined;
    return ((await icebergRead({ tableUrl: location })) as { id: unknown; v: unknown }[])
      .map((r) => ({ id: String(r.id), v: String(r.v) }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  };

  it("drops a table renamed away, reads the new name in full, and replaces a re-created table with a new shape", async () => {
    const t = schemaOf("t", "string");
    const source = createScriptedSource({ schemas: [t], initialRows: { "app.t": [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] } });
    const checkpoints = createMemoryCheckpointStore();
    const run = () => runPipeline({ name: "tc", source, sink: createIcebergSink({ warehouse, namespace: "lake" }), checkpoints, untilCaughtUp: true, retry: fastRetry });
    await run();
    expect(await tableRows("t")).toEqual([{ id: "1", v: "a" }, { id: "2", v: "b" }]);

    const t2 = schemaOf("t2", "string");
    source.appendTableChange({ kind: "dropped", table: t.table, reason: "renamed to app.t2" });
    source.appendTableChange({ kind: "refresh", table: t2.table, reason: "renamed from app.t", schema: t2, rows: [{ id: 1n, v: "a" }, { id: 2n, v: "b" }] });
    await run();
    expect(await tableRows("t")).toBeUndefined();
    // the filesystem catalog's table is its directory: no file of it is left
    expect(await createLocalObjectStore().list(join(warehouse, "lake", "t"))).toEqual([]);
    expect(await tableRows("t2")).toEqual([{ id: "1", v: "a" }, { id: "2", v: "b" }]);

    const t2int = schemaOf("t2", "int");
    source.appendTableChange({ kind: "dropped", table: t2.table, reason: "table dropped" });
    source.appendTableChange({ kind: "refresh", table: t2.table, reason: "table re-created", schema: t2int, rows: [{ id: 7n, v: 70 }] });
    source.append([{ op: "insert", table: t2.table, after: { id: 8n, v: 80 } }]);
    const result = await run();
    expect(await tableRows("t2")).toEqual([{ id: "7", v: "70" }, { id: "8", v: "80" }]);
    expect(result.checkpoint.tables["app.t2"]?.state).toBe("synced");
    expect(result.checkpoint.tables["app.t"]?.state).toBe("dropped-at-source");
  });
});
