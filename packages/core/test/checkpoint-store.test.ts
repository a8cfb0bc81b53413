import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createFileCheckpointStore, type PipelineCheckpoint } from "@zero-etl/core";

describe("createFileCheckpointStore", () => {
  it("saves atomically, loads the last save, and clears", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zetl-cp-"));
    try {
      const store = createFileCheckpointStore(join(dir, "state"));
      expect(await store.load("a/b")).toBeUndefined();
      const first: PipelineCheckpoint = { pipeline: "a/b", phase: "streaming", position: "0/10", tables: {}, savedAt: "2026-01-01T00:00:00.000Z" };
      await store.save(first);
      await store.save({ ...first, position: "0/20" });
      expect((await store.load("a/b"))?.position).toBe("0/20");
      expect((await readdir(join(dir, "state"))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
      await store.clear("a/b");
      expect(await store.load("a/b")).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
