/**
 * PostgreSQL -> PostgreSQL initial load, end to end, as a user runs it:
 * a table of `ZETL_BENCH_ROWS` rows (default 1,000,000; `ZETL_BENCH_QUICK=1`
 * makes it 200,000) with a bigint key, an int, a text, a numeric and a
 * timestamptz (~180 bytes a row) is generated once in a throwaway database,
 * then in the same run:
 *   (a) the reference: `pg_dump -t bench <src> | psql <empty db>`;
 *   (b) ours: `zeroetl run <config> --until-caught-up` (compiled, as `pnpm
 *       zeroetl` and users run it) into an empty database,
 *       at the default parallelism, and again at parallelism 1, 2 and 4 (NOTE
 *       lines, to show how it scales).
 * Prints `RATIO e2e-snapshot <reference time / our time>` (higher is better).
 * Each target is checked to hold every row (count and a sum of row hashes).
 *
 * Run: pnpm bench e2e-snapshot
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { CopyOutStream } from "../packages/sources/src/postgres/pg-copy-out-stream.js";
import { connectPostgres } from "../packages/sources/src/postgres/postgres-connection.js";
import { compiledCli, ensureCliBuilt } from "./lib/bench-cli.js";

const BASE_URL = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
const ROWS = Number(process.env.ZETL_BENCH_ROWS ?? (process.env.ZETL_BENCH_QUICK === "1" ? 200_000 : 1_000_000));
const SCALING = (process.env.ZETL_BENCH_SCALING ?? "1,2,4").split(",").filter((s) => s !== "").map(Number);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tag = Math.random().toString(36).slice(2, 8);
const created: string[] = [];

const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();

function dbUrl(name: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function createDb(suffix: string): Promise<string> {
  const name = `zetl_bench_e2esnap_${tag}_${suffix}`;
  await admin.query(`CREATE DATABASE ${name}`);
  created.push(name);
  return name;
}

async function query<T extends pg.QueryResultRow>(db: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl(db) });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Runs a shell pipeline; resolves with its wall time in ms. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => (code === 0 ? done(performance.now() - t0) : fail(new Error(`${command} exited with ${code}: ${stderr.slice(-2000)}`))));
  });
}

/** Count and a sum of row hashes: the same on both sides when every row arrived once, unchanged. */
async function fingerprint(db: string, table: string): Promise<string> {
  const rows = await query<{ n: string; h: string }>(db, `SELECT count(*)::text AS n, coalesce(sum(hashtext(t::text)::bigint), 0)::text AS h FROM ${table} t`);
  return `${rows[0]?.n}/${rows[0]?.h}`;
}

/** Times the stages of our load apart: reading the COPY stream, writing it, and the fixed cost of a run. */
async function stageBreakdown(
  source: string,
  dir: string,
  ours: (label: string, parallelism: number | undefined, check?: boolean, throughTsx?: boolean) => Promise<number>,
): Promise<{ readMs: number; writeMs: number; keylessMs: number; keyMs: number; fixedMs: number; fixedTsxMs: number }> {
  const file = join(dir, "bench.bin");
  const client = await connectPostgres({ url: dbUrl(source), ssl: undefined });
  const t0 = performance.now();
  const out = createWriteStream(file);
  for await (const block of new CopyOutStream(client, "COPY (SELECT id, n, label, amount, at FROM public.bench) TO STDOUT (FORMAT binary)")) {
    if (!out.write(block)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const readMs = performance.now() - t0;
  await client.end();
  const sink = await createDb("stage");
  await query(sink, "CREATE TABLE bench (id bigint PRIMARY KEY, n int NOT NULL, label text NOT NULL, amount numeric(14,4), at timestamptz NOT NULL)");
  const writeMs = await run("bash", ["-c", `psql -q -v ON_ERROR_STOP=1 '${dbUrl(sink)}' -c 'COPY bench FROM STDIN (FORMAT binary)' < '${file}'`]);
  // how our loader writes a fresh table: COPY without the key, then one index build
  await query(sink, "CREATE TABLE bench_nokey (id bigint NOT NULL, n int NOT NULL, label text NOT NULL, amount numeric(14,4), at timestamptz NOT NULL)");
  const keylessMs = await run("bash", ["-c", `psql -q -v ON_ERROR_STOP=1 '${dbUrl(sink)}' -c 'COPY bench_nokey FROM STDIN (FORMAT binary)' < '${file}'`]);
  const keyMs = await run("psql", ["-q", "-v", "ON_ERROR_STOP=1", dbUrl(sink), "-c", "ALTER TABLE bench_nokey ADD PRIMARY KEY (id)"]);
  await query(source, "CREATE TABLE one AS SELECT * FROM bench WHERE id = 1; ALTER TABLE one ADD PRIMARY KEY (id)");
  await query(source, "ALTER TABLE bench RENAME TO bench_aside; ALTER TABLE one RENAME TO bench");
  try {
    const fixedMs = await ours("fixed", undefined, false);
    // the same through tsx (the sources, as the tests run them): what compiling the CLI saves
    const fixedTsxMs = await ours("fixed_tsx", undefined, false, true);
    return { readMs, writeMs, keylessMs, keyMs, fixedMs, fixedTsxMs };
  } finally {
    await query(source, "ALTER TABLE bench RENAME TO one; ALTER TABLE bench_aside RENAME TO bench");
  }
}

try {
  const source = await createDb("src");
  await query(
    source,
    `CREATE TABLE bench (id bigint PRIMARY KEY, n int NOT NULL, label text NOT NULL, amount numeric(14,4), at timestamptz NOT NULL);
     INSERT INTO bench
       SELECT g, ((g::bigint * 7919) % 1000003)::int, repeat(md5(g::text), 3) || ' row ' || g, (g % 100000) / 7.0, '2026-01-01'::timestamptz + g * interval '1 second'
       FROM generate_series(1, ${ROWS}) g`,
  );
  await query(source, "VACUUM ANALYZE bench");
  const size = await query<{ bytes: string }>(source, "SELECT pg_table_size('bench')::text AS bytes");
  const expected = await fingerprint(source, "public.bench");
  console.log(`NOTE e2e-snapshot rows=${ROWS} table=${Math.round(Number(size[0]?.bytes ?? 0) / ROWS)} B/row (heap) cores=${availableParallelism()}`);

  // (a) reference
  const refDb = await createDb("ref");
  const refMs = await run("bash", ["-c", `set -o pipefail; pg_dump --no-owner --no-privileges -t public.bench '${dbUrl(source)}' | psql -q -v ON_ERROR_STOP=1 '${dbUrl(refDb)}'`]);
  if ((await fingerprint(refDb, "public.bench")) !== expected) throw new Error("reference copy differs from the source");
  console.log(`NOTE e2e-snapshot pg_dump|psql ${(refMs / 1000).toFixed(2)} s`);

  // (b) ours, compiled as users run it (built before timing), a fresh pipeline (slot, publication, target database) each time
  await ensureCliBuilt();
  const dir = await mkdtemp(join(tmpdir(), "zetl-bench-e2esnap-"));
  const ours = async (label: string, parallelism: number | undefined, check = true, throughTsx = false, bundle?: string): Promise<number> => {
    const target = await createDb(`dst_${label}`);
    const name = `bench_e2esnap_${tag}_${label}`;
    const config = join(dir, `${label}.json`);
    await writeFile(
      config,
      JSON.stringify({
        name,
        state: { dir: join(dir, `state-${label}`) },
        log: { level: "warn" },
        source: { type: "postgres", url: dbUrl(source), ...(parallelism === undefined ? {} : { snapshot: { parallelism } }) },
        target: { type: "postgres", url: dbUrl(target), schema: "dw" },
        // the stage run parks the big table beside a one-row one: only `bench` is copied
        filter: { include: ["public.bench"] },
      }),
    );
    try {
      const args = ["run", config, "--until-caught-up"];
      const ms = throughTsx
        ? await run(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(root, "packages/cli/src/bin.ts"), ...args])
        : bundle !== undefined
          ? await run(process.execPath, [bundle, ...args])
          : await run(...compiledCli(args));
      if (check && (await fingerprint(target, "dw.bench")) !== expected) throw new Error(`our copy (${label}) differs from the source`);
      return ms;
    } finally {
      await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [`zeroetl_${name}`]).catch(() => {});
    }
  };
  // A/B in the same minutes: ZETL_BENCH_BASE_CLI names an older build's bundle entry (`node scripts/build-cli.mjs --outdir <dir>` at the old commit, then <dir>/zeroetl.js)
  const base = process.env.ZETL_BENCH_BASE_CLI;
  const baseMs = base === undefined ? undefined : await ours("base", undefined, true, false, base);
  const oursMs = await ours("default", undefined);
  console.log(`NOTE e2e-snapshot zeroetl (default parallelism) ${(oursMs / 1000).toFixed(2)} s, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  if (baseMs !== undefined) {
    const again = await ours("base2", undefined, true, false, base);
    console.log(`NOTE e2e-snapshot base build (default parallelism) ${(baseMs / 1000).toFixed(2)} / ${(again / 1000).toFixed(2)} s (before / after ours) ratio ${(refMs / baseMs).toFixed(2)} / ${(refMs / again).toFixed(2)}`);
  }
  for (const p of SCALING) {
    const ms = await ours(`p${p}`, p);
    console.log(`NOTE e2e-snapshot zeroetl parallelism=${p} ${(ms / 1000).toFixed(2)} s ratio ${(refMs / ms).toFixed(2)}`);
  }
  // where our time goes: the same bytes read alone, written alone, and a run with (nearly) nothing to copy
  const stages = await stageBreakdown(source, dir, ours);
  console.log(`NOTE e2e-snapshot stages: read (binary COPY out, 1 stream, drained) ${(stages.readMs / 1000).toFixed(2)} s; write (binary COPY in, 1 stream, into the keyed table) ${(stages.writeMs / 1000).toFixed(2)} s, or into the table without its key ${(stages.keylessMs / 1000).toFixed(2)} s + adding the key ${(stages.keyMs / 1000).toFixed(2)} s; fixed cost of a run (start, slot, catalog, 1 row) ${(stages.fixedMs / 1000).toFixed(2)} s (through tsx: ${(stages.fixedTsxMs / 1000).toFixed(2)} s)`);
  await rm(dir, { recursive: true, force: true });
  console.log(`RATIO e2e-snapshot ${(refMs / oursMs).toFixed(2)}`);
} finally {
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  await admin.end();
}
