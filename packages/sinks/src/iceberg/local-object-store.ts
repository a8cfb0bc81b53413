import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CommitConflictError } from "./iceberg-catalog.js";
import type { ObjectEntry, ObjectStore } from "./object-store.js";

/**
 * An {@link ObjectStore} on the local filesystem. Every put is atomic for
 * readers: the bytes go to a hidden temporary file first, then `rename`
 * (or, for an exclusive put, `link`, which fails when the target exists).
 */
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
        // a dot file is a write in progress (see put)
        else if (!e.name.startsWith(".")) out.push(p);
      }
    };
    await walk(prefix);
    return out.sort();
  };
  return {
    async put(location, body, options) {
      await mkdir(dirname(location), { recursive: true });
      // written aside, then moved in: a reader (another process loading the
      // newest metadata) never sees a half-written file
      const temp = join(dirname(location), `.${basename(location)}.${randomUUID()}.tmp`);
      await writeFile(temp, body);
      try {
        // link() fails when the target exists: the exclusive create, atomic
        if (options?.exclusive === true) await exclusiveMove(temp, location, body);
        else await rename(temp, location);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new CommitConflictError(`${location} already exists`, error);
        throw error;
      } finally {
        if (options?.exclusive === true) await rm(temp, { force: true });
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
    async prune(prefix) {
      await removeEmptyDirectories(prefix.replace(/\/+$/, ""));
    },
  };
}

/** Removes `dir` and its subdirectories, bottom-up, where they hold nothing; a directory with a file (or a write in progress) stays. */
async function removeEmptyDirectories(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw error;
  }
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirectories(join(dir, e.name));
  try {
    await rmdir(dir);
  } catch (error) {
    // another writer put a file there meanwhile, or it is gone already
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOENT") throw error;
  }
}

/** Hard-links `temp` to `location`; where the filesystem has no hard links, creates `location` with `wx` instead (exclusive, but visible while written). */
async function exclusiveMove(temp: string, location: string, body: Uint8Array): Promise<void> {
  try {
    await link(temp, location);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw error;
    await writeFile(location, body, { flag: "wx" });
  }
}
