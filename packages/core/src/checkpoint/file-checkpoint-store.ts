import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { CheckpointStore, PipelineCheckpoint } from "./pipeline-checkpoint.js";

/**
 * Keeps each pipeline's checkpoint in `<dir>/<pipeline>.checkpoint.json`.
 * A save writes a temporary file, fsyncs it, renames it over the old one and
 * fsyncs the directory, so a crash leaves the old or the new file, never half of one.
 */
export function createFileCheckpointStore(dir: string): CheckpointStore {
  const fileOf = (pipeline: string) => join(dir, `${encodeURIComponent(pipeline)}.checkpoint.json`);
  return {
    async load(pipeline) {
      let text: string;
      try {
        text = await readFile(fileOf(pipeline), "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new ZeroEtlError(`cannot read checkpoint of pipeline ${pipeline} in ${dir}`, { code: "checkpoint-failed", cause: error });
      }
      try {
        return JSON.parse(text) as PipelineCheckpoint;
      } catch (error) {
        throw new ZeroEtlError(`checkpoint file ${fileOf(pipeline)} is not valid JSON`, { code: "checkpoint-failed", cause: error });
      }
    },
    async save(checkpoint) {
      await mkdir(dir, { recursive: true });
      const target = fileOf(checkpoint.pipeline);
      const temporary = `${target}.${process.pid}.tmp`;
      const handle = await open(temporary, "w");
      try {
        await handle.writeFile(JSON.stringify(checkpoint, null, 2));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
      const directory = await open(dir, "r");
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    },
    async clear(pipeline) {
      await rm(fileOf(pipeline), { force: true });
    },
  };
}
