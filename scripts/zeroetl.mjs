#!/usr/bin/env node
/**
 * `pnpm zeroetl …`: runs this checkout's `zeroetl` command as compiled
 * JavaScript (the bundle `scripts/build-cli.mjs` writes), rebuilding it
 * first when it is missing or older than any workspace source it was built
 * from, so an edited source is never run stale. The check stats the few
 * hundred inputs the build recorded (a few milliseconds); a rebuild takes
 * well under a second.
 *
 * The tests do not use this: they run the TypeScript sources through `tsx`
 * (`test-support/cli.ts`), so a stale or broken bundle cannot make a test
 * pass or fail.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildCli, DEFAULT_OUTDIR, INPUTS_FILE } from "./build-cli.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(DEFAULT_OUTDIR, "zeroetl.js");

/** Whether the bundle is missing, or a recorded input (or the lockfile) changed or vanished since it was built. */
async function isStale() {
  let builtAt;
  let inputs;
  try {
    builtAt = (await stat(join(DEFAULT_OUTDIR, INPUTS_FILE))).mtimeMs;
    inputs = JSON.parse(await readFile(join(DEFAULT_OUTDIR, INPUTS_FILE), "utf8"));
    await stat(entry);
  } catch {
    return true;
  }
  // the lockfile: a dependency moved, and with it the paths the bundle imports
  const checked = await Promise.all([...inputs, "pnpm-lock.yaml"].map((path) => stat(join(root, path)).then((s) => s.mtimeMs > builtAt, () => true)));
  return checked.includes(true);
}

if (await isStale()) await buildCli();
await import(pathToFileURL(entry).href);
