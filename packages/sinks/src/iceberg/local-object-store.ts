import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { ObjectEntry, ObjectStore } from "./object-store.js";

/** An {@link ObjectStore} on the local filesystem; exclusive puts use the `wx` flag (atomic create). */
export function createLocalObjectStore(): ObjectStore {
  const list = async (prefix: string): Promise<string[]> => {
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
  };
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
    list,
    async listEntries(prefix) {
      const out: ObjectEntry[] = [];
      for (const location of await list(prefix)) {
        try {
          out.push({ location, modifiedMs: (await stat(location)).mtimeMs });
        } catch (error) {
          // deleted since it was listed
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      return out;
    },
    async delete(location) {
      await rm(location, { force: true });
    },
  };
}
