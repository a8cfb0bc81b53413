/**
 * Builds the `zeroetl` command of this checkout as compiled JavaScript:
 * one esbuild bundle of the workspace's TypeScript sources (code-split, so
 * the connectors a config does not name stay unloaded), written to
 * `packages/cli/bundle/`. Run by `pnpm install` (the root `prepare` script)
 * and, when a source changed since, by `scripts/zeroetl.mjs` before it runs.
 *
 * Why a bundle and not `tsc`: starting the CLI through `tsx` transpiles the
 * workspace at every start (about 1 s of CPU), the `tsc` build takes half a
 * minute (too slow for every install), and even compiled, loading the few
 * hundred small ES modules of `kysely` and `zod` one by one costs a few
 * hundred milliseconds; esbuild builds the bundle in well under a second.
 *
 * Dependencies other than `kysely` and `zod` (both pure ES modules) stay
 * outside the bundle, imported by the absolute path esbuild resolves from the
 * importing workspace package, so pnpm's strict layout (each package sees
 * only its own dependencies) holds and native or CommonJS modules load as
 * usual. The bundle is for this checkout only (it names local paths); the
 * published packages are built by `pnpm build` (`tsc`).
 *
 * Usage: node scripts/build-cli.mjs [--quiet] [--clean] [--no-fail] [--outdir <dir>]
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * esbuild as tsx (a dev dependency) pins it: no second copy in the lockfile,
 * and no new peer for vite to pick up. Loaded on the first build only:
 * `scripts/zeroetl.mjs` imports this module at every start.
 */
function loadEsbuild() {
  return createRequire(createRequire(join(root, "package.json")).resolve("tsx"))("esbuild");
}

/** Where the bundle goes unless told otherwise. */
export const DEFAULT_OUTDIR = join(root, "packages/cli/bundle");

/** The file listing the bundle's workspace inputs (relative to the root), for the staleness check. */
export const INPUTS_FILE = "inputs.json";

/** Pure ES-module dependencies worth bundling: hundreds of small modules each. */
const BUNDLED = new Set(["kysely", "zod"]);

/** Whether a bare specifier names one of the bundled packages (or a subpath of one). */
function isBundled(specifier) {
  if (specifier.startsWith("@zero-etl/")) return true;
  const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
  return BUNDLED.has(name);
}

/** Keeps every other dependency external, imported by the path it resolves to from its importer. */
const externalByResolvedPath = {
  name: "external-by-resolved-path",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "resolving" || isBuiltin(args.path) || isBundled(args.path)) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "resolving" });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, external: true };
    });
  },
};

/**
 * Builds the bundle into `outdir` and records its workspace inputs beside it
 * (written last: the staleness check's timestamp). Each file is written
 * under a temporary name and renamed, and chunks are named by their content,
 * so a `zeroetl` process already running from `outdir` keeps loading the
 * chunks it expects while another rebuilds; `clean` empties `outdir` first.
 * Resolves with the build's wall time in milliseconds.
 */
export async function buildCli({ outdir = DEFAULT_OUTDIR, clean = false } = {}) {
  const began = performance.now();
  if (clean) await rm(outdir, { recursive: true, force: true });
  const result = await loadEsbuild().build({
    entryPoints: { zeroetl: join(root, "packages/cli/src/bin.ts") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // the workspace packages' TypeScript sources, as the tests run them
    conditions: ["zero-etl-source"],
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    plugins: [externalByResolvedPath],
    write: false,
  });
  await mkdir(outdir, { recursive: true });
  await Promise.all(result.outputFiles.map((file) => writeAtomically(file.path, file.contents)));
  const inputs = Object.keys(result.metafile.inputs)
    .map((path) => relative(root, resolve(root, path)))
    .filter((path) => !path.startsWith("node_modules/") && !path.includes("/node_modules/"));
  await writeAtomically(join(outdir, INPUTS_FILE), `${JSON.stringify(inputs)}\n`);
  return performance.now() - began;
}

async function writeAtomically(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--outdir");
  const outdir = at >= 0 && args[at + 1] !== undefined ? resolve(args[at + 1]) : DEFAULT_OUTDIR;
  try {
    const ms = await buildCli({ outdir, clean: args.includes("--clean") });
    if (!args.includes("--quiet")) process.stdout.write(`zeroetl built into ${relative(process.cwd(), outdir) || "."} in ${Math.round(ms)} ms\n`);
  } catch (error) {
    // --no-fail (pnpm install): a source that does not compile must not fail the install; `pnpm zeroetl` tries again and shows the error
    if (!args.includes("--no-fail")) throw error;
    process.stderr.write(`zeroetl not built (pnpm zeroetl builds it): ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
  }
}
