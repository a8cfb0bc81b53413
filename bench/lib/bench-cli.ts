/**
 * Shared helpers of the end-to-end benchmarks (not a benchmark itself: only
 * `bench/*.ts` are run by `pnpm bench`): timed CLI runs and reference tools.
 */
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CliResult } from "../../test-support/cli.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Whether `ZETL_BENCH_QUICK=1` asks for the small sizes (a tenth). */
export const QUICK = process.env.ZETL_BENCH_QUICK === "1";

/**
 * The command line of `zeroetl <args>` as a user runs it: compiled
 * JavaScript (`pnpm zeroetl`, the bundle of `scripts/build-cli.mjs`), not
 * the TypeScript sources through `tsx` as the tests run them.
 */
export function compiledCli(args: readonly string[]): [string, string[]] {
  // ZETL_BENCH_CLI: a bundle entry to run instead (an older build, for a before/after pair)
  const entry = process.env.ZETL_BENCH_CLI;
  if (entry !== undefined && entry !== "") return [process.execPath, [entry, ...args]];
  return [process.execPath, [join(root, "scripts/zeroetl.mjs"), ...args]];
}

let built: Promise<unknown> | undefined;

/** Builds the compiled CLI when a source changed (once per process), so no timed run includes a build. */
export function ensureCliBuilt(): Promise<unknown> {
  built ??= runCompiledCli(["--help"]);
  return built;
}

function runCompiledCli(args: readonly string[]): Promise<CliResult> {
  const [command, argv] = compiledCli(args);
  const child = spawn(command, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("exit", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** Runs the compiled `zeroetl <args>` to completion and returns its result with the wall time; throws when it fails. */
export async function timedCli(args: readonly string[]): Promise<CliResult & { seconds: number }> {
  await ensureCliBuilt();
  const began = performance.now();
  const result = await runCompiledCli(args);
  const seconds = (performance.now() - began) / 1000;
  if (result.code !== 0) throw new Error(`zeroetl ${args.join(" ")} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return { ...result, seconds };
}

/**
 * For an A/B in the same minutes: runs `zeroetl <args>` from the bundle
 * entry `ZETL_BENCH_BASE_CLI` names (an older build: `node
 * scripts/build-cli.mjs --outdir <dir>` at the old commit, then
 * `<dir>/zeroetl.js`) and returns its wall time in seconds; undefined when
 * the variable is not set.
 */
export async function timedBaseCli(args: readonly string[]): Promise<number | undefined> {
  const entry = process.env.ZETL_BENCH_BASE_CLI;
  if (entry === undefined || entry === "") return undefined;
  return timedTool(process.execPath, [entry, ...args]);
}

/** Runs a reference tool with its output discarded and returns its wall time in seconds; throws when it fails. */
export function timedTool(command: string, args: readonly string[]): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve((performance.now() - began) / 1000) : reject(new Error(`${command} exited ${code}: ${err}`))));
  });
}

/** The 1-minute load average, printed beside every figure (the machine is shared). */
export async function loadAverage(): Promise<string> {
  const { loadavg } = await import("node:os");
  return loadavg().map((l) => l.toFixed(2)).join(" ");
}

/** The `stream stages` and `staged apply stages` log lines of a CLI run at log level info, as printed figures. */
export function stageLines(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes("stream stages") && !line.includes("staged apply stages")) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const { level: _l, time: _t, pid: _p, hostname: _h, pipeline: _n, msg, ...rest } = parsed;
      out.push(`  ${String(msg)}: ${Object.entries(rest).map(([k, v]) => `${k} ${String(v)}`).join(", ")}`);
    } catch {
      out.push(`  ${line}`);
    }
  }
  return out;
}
