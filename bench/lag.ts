/**
 * Replication lag, PostgreSQL -> PostgreSQL, through the CLI (`zeroetl run`
 * streaming): first the maximum rate, as the time the running pipeline
 * takes to land a burst of rows committed as fast as one connection can (in
 * transactions of 100 rows); then, at half that rate, 100 transactions a
 * second for a while, each one's lag = the moment a poller on the target
 * first sees its rows (every 5 ms) minus the moment its COMMIT returned at
 * the source. Prints `LAG p50=… p99=…` (milliseconds).
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/lag.ts
 * (ZETL_BENCH_QUICK=1: a shorter burst and steady phase.)
 */
import pg from "pg";
import { startCli, writeConfig } from "../test-support/cli.js";
import { createTestDatabase } from "../test-support/postgres.js";
import { QUICK, loadAverage, timedCli } from "./lib/bench-cli.js";

const BURST = QUICK ? 20_000 : 100_000;
const STEADY_SECONDS = QUICK ? 4 : 15;
const TX_PER_SECOND = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const source = await createTestDatabase("bench_lag_src");
const target = await createTestDatabase("bench_lag_dst");
const writer = new pg.Client({ connectionString: source.url });
const reader = new pg.Client({ connectionString: target.url });
let cli: ReturnType<typeof startCli> | undefined;
try {
  await source.query("CREATE TABLE lag (id int8 PRIMARY KEY, qty int4 NOT NULL, name text, at timestamptz)");
  const name = `lag_${Math.random().toString(36).slice(2, 8)}`;
  const { file } = await writeConfig({ name, source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url, schema: "dw" } });
  await timedCli(["check", file, "--fix"]);
  await timedCli(["run", file, "--until-caught-up"]);
  cli = startCli(["run", file]);
  await writer.connect();
  await reader.connect();
  const visible = async (): Promise<number> => Number((await reader.query<{ m: string | null }>("SELECT max(id)::text AS m FROM dw.lag")).rows[0]?.m ?? 0);
  let next = 1;
  const insert = async (rows: number): Promise<number> => {
    const last = next + rows - 1;
    await writer.query("INSERT INTO lag SELECT g, g % 1000, 'customer-' || g, now() FROM generate_series($1::int8, $2::int8) g", [next, last]);
    next = last + 1;
    return last;
  };
  // the pipeline is streaming once a first row shows up
  const warm = await insert(1);
  while ((await visible()) < warm) await sleep(20);

  const burstStart = performance.now();
  let burstLast = 0;
  for (let done = 0; done < BURST; done += 1000) burstLast = await insert(1000);
  const committed = performance.now();
  while ((await visible()) < burstLast) await sleep(5);
  const burstSeconds = (performance.now() - burstStart) / 1000;
  const maxRate = BURST / burstSeconds;
  console.log(`burst: ${BURST} rows committed in ${((committed - burstStart) / 1000).toFixed(2)} s, all visible at the target after ${burstSeconds.toFixed(2)} s: max rate ${Math.round(maxRate)} rows/s`);

  const rate = maxRate / 2;
  const rowsPerTx = Math.max(1, Math.round(rate / TX_PER_SECOND));
  const pending: { last: number; at: number }[] = [];
  const lags: number[] = [];
  let producing = true;
  const poller = (async () => {
    while (producing || pending.length > 0) {
      const seen = await visible();
      const now = performance.now();
      while (pending.length > 0 && (pending[0]?.last ?? Infinity) <= seen) lags.push(now - (pending.shift()?.at ?? now));
      await sleep(5);
    }
  })();
  const load = await loadAverage();
  const steadyStart = performance.now();
  for (let tx = 0; tx < STEADY_SECONDS * TX_PER_SECOND; tx++) {
    const due = steadyStart + (tx * 1000) / TX_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const last = await insert(rowsPerTx);
    pending.push({ last, at: performance.now() });
  }
  producing = false;
  await poller;
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? NaN;
  console.log(`load average: ${load}`);
  console.log(`steady: ${lags.length} transactions of ${rowsPerTx} rows at ${TX_PER_SECOND}/s (${Math.round(rowsPerTx * TX_PER_SECOND)} rows/s, half the max rate) for ${STEADY_SECONDS} s`);
  console.log(`lag from source commit to target visibility: p50 ${pct(50).toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${(lags[lags.length - 1] ?? NaN).toFixed(0)} ms`);
  console.log(`LAG p50=${pct(50).toFixed(0)}ms p99=${pct(99).toFixed(0)}ms`);
} finally {
  cli?.kill("SIGTERM");
  await cli?.result;
  await writer.end().catch(() => undefined);
  await reader.end().catch(() => undefined);
  await source.drop();
  await target.drop();
}
