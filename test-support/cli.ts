import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What a finished CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts `zeroetl <args>` as a child process from the TypeScript sources
 * through `tsx` (as `pnpm zeroetl:ts` runs it; `pnpm zeroetl` runs the compiled
 * bundle), so a stale build never decides a test.
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(root, "packages/cli/src/bin.ts"), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((done) => child.on("exit", (code, signal) => done({ code, signal, stdout, stderr })));
  return Object.assign(child, { result });
}

/** Runs `zeroetl <args>` to completion. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).result;
}

/** Writes a pipeline config into a new temporary directory and returns its path; `state.dir` defaults to that directory. */
export async function writeConfig(config: Record<string, unknown>): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "zetl-cli-"));
  const file = join(dir, "pipeline.json");
  await writeFile(file, JSON.stringify({ state: { dir: join(dir, "state") }, log: { level: "warn" }, ...config }, null, 2));
  return { file, dir };
}
