import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { ObjectStore } from "./object-store.js";

/** An {@link ObjectStore} on the local filesystem; exclusive puts use the `wx` flag (atomic create). */
export function createLocalObjectStore(): ObjectStore {
  return {
    async put(location, body, options) {
      await mkdir(dirname(location), { recursive: true });
      try {
        await writeFile(location, body, { flag: options?.exclusive === true ? "wx" : "w" });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new CommitConflictError(`${location} already exists`, error);
        throw error;
      }
    },
    async get(location) {
      try {
        return await readFile(location);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async list(prefix) {
      const out: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
          throw error;
        }
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else out.push(p);
        }
      };
      await walk(prefix);
      return out.sort();
    },
    async delete(location) {
      await rm(location, { force: true });
    },
  };
}
