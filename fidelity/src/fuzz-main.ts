import { allGates, isGateName } from "./feature-gates.js";
import { runSeed, type SeedResult } from "./fidelity-harness.js";
import { PAIRS, type PairName } from "./pair-driver.js";
import { startPairDriver } from "./pair-drivers.js";

// `pnpm fuzz --seeds N [--pair P] [--seed S] [--gate name] [--gate -name] [--all-gates] [--no-focus] [--verbose] [--out dir] [--incremental]`
function parseArgs(argv: readonly string[]) {
  let seeds = 1;
  let first = 1;
  let pairs: PairName[] = [...PAIRS];
  const gates: Record<string, boolean> = {};
  let allOn = false;
  let outDir: string | undefined;
  let verbose = false;
  let focus = true;
  let incremental = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--seeds") seeds = Number(value());
    else if (arg === "--seed") {
      first = Number(value());
      if (!argv.includes("--seeds")) seeds = 1;
    } else if (arg === "--pair") {
      const p = value();
      if (!PAIRS.includes(p as PairName)) throw new Error(`--pair: expected one of ${PAIRS.join(", ")}`);
      pairs = [p as PairName];
    } else if (arg === "--gate") {
      const g = value();
      const name = g.replace(/^-/, "");
      if (!isGateName(name)) throw new Error(`--gate: no gate named ${name} (see fidelity/src/feature-gates.ts)`);
      gates[name] = !g.startsWith("-");
    } else if (arg === "--all-gates") allOn = true;
    else if (arg === "--out") outDir = value();
    else if (arg === "--verbose") verbose = true;
    else if (arg === "--no-focus") focus = false;
    else if (arg === "--incremental") incremental = true;
    else if (arg !== "--") throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error("--seeds: expected a positive integer");
  return { seeds, first, pairs, gates, allOn, outDir, verbose, focus, incremental };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const results: SeedResult[] = [];
  for (const pair of args.pairs) {
    const running = await startPairDriver(pair);
    try {
      const gates: Record<string, boolean> = {};
      if (args.allOn) for (const g of allGates(running.driver.prefix)) gates[g] = true;
      Object.assign(gates, args.gates);
      for (let seed = args.first; seed < args.first + args.seeds; seed++) {
        const result = await runSeed({ driver: running.driver, seed, gates, focus: args.focus, ...(args.incremental ? { configExtra: { snapshot: { mode: "incremental", chunkRows: 7 } } } : {}), ...(args.outDir === undefined ? {} : { outDir: args.outDir }) });
        results.push(result);
        const status = result.failure === undefined ? "ok" : `FAILED in ${result.failure.phase}`;
        process.stdout.write(`${pair} seed ${seed}: ${status}, ${result.events} events, ${(result.elapsedMs / 1000).toFixed(1)} s\n`);
        if (args.verbose) process.stdout.write(`  features: ${result.features.join(", ")}\n`);
        if (result.failure !== undefined) process.stdout.write(`${result.failure.report}\n`);
      }
    } finally {
      await running.stop();
    }
  }
  const failures = results.filter((r) => r.failure !== undefined);
  const events = results.reduce((s, r) => s + r.events, 0);
  process.stdout.write(`seeds ${results.length}, events ${events}, elapsed ${((Date.now() - started) / 1000).toFixed(1)} s, failures ${failures.length}\n`);
  for (const f of failures) process.stdout.write(`  failed: ${f.pair} seed ${f.seed} (${f.failure?.phase}): ${f.failure?.reproFile}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
