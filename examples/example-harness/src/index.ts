/**
 * What every example needs and nothing more: where the local servers are,
 * waiting for a condition, timing steps, running `zeroetl`, and (for the
 * smoke tests) running an example's program to the end.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/** The repository's root. */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The local PostgreSQL (scripts/test-services.sh), any database on it. */
export const postgresServerUrl = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
/** The local MariaDB. */
export const mysqlServerUrl = process.env.ZETL_MYSQL_URL ?? "mysql://root@127.0.0.1:53306";
/** The local OpenSearch. */
export const openSearchUrl = process.env.ZETL_OPENSEARCH_URL ?? "http://127.0.0.1:59200";

/** `postgresServerUrl` with another database. */
export function postgresDatabaseUrl(name: string): string {
  const url = new URL(postgresServerUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` with a connected client and closes it. */
export async function withPostgres<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops (with its replication slot `slot`, if given) and creates the database `name` on the local PostgreSQL. */
export async function freshPostgresDatabase(name: string, slot?: string): Promise<string> {
  await withPostgres(postgresServerUrl, async (admin) => {
    if (slot !== undefined) await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  });
  return postgresDatabaseUrl(name);
}

/** Waits until `check` holds (a throwing check counts as not yet); returns the seconds it took. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, pollMs = 25): Promise<number> {
  const started = performance.now();
  while (!(await check().catch(() => false))) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return (performance.now() - started) / 1000;
}

/** Runs `work` and returns its result with the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, (performance.now() - started) / 1000];
}

/** The compiled CLI the root `prepare` script builds (`scripts/build-cli.mjs`). */
export const compiledCli = join(repositoryRoot, "packages/cli/bundle/zeroetl.js");

/**
 * The command that runs the compiled `zeroetl`, as `pnpm zeroetl` does
 * (`scripts/zeroetl.mjs`: the bundle, rebuilt first when a source changed
 * since it was built). Throws a clear error when the bundle was never built.
 */
export function zeroetlCommand(): readonly string[] {
  if (!existsSync(compiledCli)) {
    throw new Error(`the compiled zeroetl CLI is missing (${compiledCli}): \`pnpm install\` builds it (the root prepare script), or run \`node scripts/build-cli.mjs\``);
  }
  return [join(repositoryRoot, "scripts/zeroetl.mjs")];
}

/** Starts the compiled `zeroetl <args>` from the repository (as `pnpm zeroetl` does); `quiet` collects its output instead of showing it. */
export function zeroetl(args: readonly string[], options: { quiet?: boolean } = {}): ChildProcess & { exited: Promise<number>; output: () => string } {
  const child = spawn(process.execPath, [...zeroetlCommand(), ...args], {
    cwd: repositoryRoot,
    stdio: options.quiet === true ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((done) => child.on("exit", (code) => done(code ?? 1)));
  return Object.assign(child, { exited, output: () => output });
}

/** Prints a section heading of an example's output. */
export function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** Runs an example's program (a TypeScript file of the repository) to the end, for its smoke test. */
export function runExample(file: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", resolve(repositoryRoot, file)], {
    cwd: repositoryRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** DynamoDB Local from the repository's test support (a JVM on a free port, in memory). */
export { startDynamoDbLocal, type DynamoDbLocal } from "../../../test-support/dynamodb-local.js";
