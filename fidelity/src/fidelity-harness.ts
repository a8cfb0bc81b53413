import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startCli, writeConfig, type CliResult } from "../../test-support/cli.js";
import { FEATURE_GATES, isGateName } from "./feature-gates.js";
import type { PairDriver } from "./pair-driver.js";
import { createRng, hashSeed } from "./prng.js";
import { renderRepro } from "./repro-script.js";
import type { Difference } from "./table-comparator.js";
import type { Step } from "./workload.js";

/** Options of `runSeed`. */
export interface SeedOptions {
  readonly driver: PairDriver;
  readonly seed: number;
  /** Full gate names to turn on or off on top of the CI defaults (`{ "pg.toast-update": true }`). */
  readonly gates?: Readonly<Record<string, boolean>>;
  /** Where failing seeds write their reproduction (default: `$TMPDIR/zero-etl-fidelity`). */
  readonly outDir?: string;
  /** How long one `run --until-caught-up` may take before it counts as hung (default 120 s). */
  readonly runTimeoutMs?: number;
  /** Top-level config fields added to every seed's pipeline config (`pnpm fuzz --incremental`: incremental snapshots with tiny chunks). */
  readonly configExtra?: Readonly<Record<string, unknown>>;
  /** Whether gates turned on in `gates` are weighted up (default true; `pnpm fuzz --no-focus`). */
  readonly focus?: boolean;
  /** Called after the final run, before comparing, with the pipeline config (tests use it to tamper with the target and prove the comparator sees it). */
  readonly beforeCompare?: (config: Readonly<Record<string, unknown>>) => Promise<void>;
}

/** What one seed did and found. */
export interface SeedResult {
  readonly pair: string;
  readonly seed: number;
  /** Row changes and DDL statements made at the source. */
  readonly events: number;
  readonly elapsedMs: number;
  /** The gates (full names) the workload actually exercised. */
  readonly features: readonly string[];
  /** Undefined when source and target matched. */
  readonly failure?: SeedFailure;
}

/** Why a seed failed, where, and how to reproduce it. */
export interface SeedFailure {
  /** `snapshot`, `phase N (restart|kill)`, `final` or `compare`. */
  readonly phase: string;
  readonly message: string;
  readonly differences: readonly Difference[];
  /** The reproduction script written for it. */
  readonly reproFile: string;
  /** The whole report as printed. */
  readonly report: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runUntilCaughtUp(file: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliResult & { timedOut: boolean }> {
  const child = startCli(["run", file, "--until-caught-up"], env);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const result = await child.result;
  clearTimeout(timer);
  return { ...result, timedOut };
}

/**
 * Runs one seed of one pair: generates the workload, stands up a fresh
 * source and target, runs the setup, the first `run --until-caught-up`
 * (snapshot), each phase (ending with a restart, or with a kill -9 of a
 * running CLI at a random step), a final `run --until-caught-up`, and
 * compares source and target. A failure is printed to the returned report
 * and its reproduction script written to a file.
 */
export async function runSeed(options: SeedOptions): Promise<SeedResult> {
  const { driver, seed } = options;
  const started = Date.now();
  const on = (feature: string) => {
    const name = `${driver.prefix}.${feature}`;
    const override = options.gates?.[name];
    if (override !== undefined) return override;
    return isGateName(name) ? FEATURE_GATES[name].ci : false;
  };
  const rng = createRng(hashSeed(`${driver.pair}:${seed}`));
  const focus = (feature: string) => options.focus !== false && options.gates?.[`${driver.prefix}.${feature}`] === true;
  const workload = driver.generate(rng, on, focus);
  const features = [...workload.usedFeatures].map((f) => `${driver.prefix}.${f}`).sort();
  const label = `${driver.pair.replace("-", "")}_${seed}_${Math.random().toString(36).slice(2, 6)}`;
  const opened = await driver.open(label, workload, on);
  const { file, dir } = await writeConfig({ name: `fz_${label}`, ...opened.config, ...options.configExtra });
  const downstream = opened.downstream === undefined ? undefined : await writeConfig({ name: `fz_${label}_w`, ...opened.downstream.config });
  const readDeadLetters = async () =>
    (await readFile(join(dir, "state", `fz_${label}.dead-letters.jsonl`), "utf8").catch(() => "")) +
    (downstream === undefined ? "" : await readFile(join(downstream.dir, "state", `fz_${label}_w.dead-letters.jsonl`), "utf8").catch(() => ""));
  const executed: { step: Step; marker?: string }[] = [];
  let events = 0;
  let phase = "setup";
  const timeout = options.runTimeoutMs ?? 120_000;

  const exec = async (step: Step) => {
    executed.push({ step });
    events += await opened.execute(step);
  };
  const marker = (text: string) => executed.push({ step: { text: "", tables: [], features: [] }, marker: text });

  const fail = async (message: string, differences: readonly Difference[], stderr = ""): Promise<SeedResult> => {
    const failingTables = new Set(differences.flatMap((d) => d.table.split(" / ")));
    const outDir = options.outDir ?? join(process.env.TMPDIR ?? "/tmp", "zero-etl-fidelity");
    await mkdir(outDir, { recursive: true });
    const reproFile = join(outDir, `${driver.pair}-seed${seed}.repro.txt`);
    const deadLetters = await readDeadLetters();
    const header = [
      `pair ${driver.pair}, seed ${seed}, failed in ${phase}: ${message}`,
      `rerun: pnpm fuzz --pair ${driver.pair} --seed ${seed}${Object.entries(options.gates ?? {}).map(([g, v]) => ` --gate ${v ? "" : "-"}${g}`).join("")}${options.focus === false ? " --no-focus" : ""}`,
      `features: ${features.join(", ")}`,
      `pipeline config: ${JSON.stringify({ ...opened.config, ...options.configExtra })}`,
      ...(opened.downstream === undefined ? [] : [`downstream pipeline config: ${JSON.stringify(opened.downstream.config)}`]),
    ];
    const show = (v: string | null) => (v === null ? "null" : JSON.stringify(v.length > 160 ? `${v.slice(0, 120)}…(${v.length} chars)` : v));
    const diffLines = differences.slice(0, 12).map((d) => `  ${d.table} key ${d.key} column ${d.column}: source ${show(d.source)}, target ${show(d.target)}`);
    const script = renderRepro({ pair: driver.pair, header, executed, tables: failingTables.size > 0 ? failingTables : undefined });
    const full = renderRepro({ pair: driver.pair, header, executed, tables: undefined });
    await writeFile(reproFile, `${script}\n\n-- ===== full workload =====\n${full}\n`);
    const report = [
      `FIDELITY FAILURE ${header[0] ?? ""}`,
      ...diffLines,
      ...(stderr === "" ? [] : [`  cli stderr (tail): ${stderr.slice(-3100)}`]),
      ...(deadLetters === "" ? [] : [`  dead letters (first 3): ${deadLetters.split("\n").slice(0, 3).join("\n    ")}`]),
      `  ${header[1] ?? ""}`,
      `  reproduction (the DDL+DML it ran, filtered to the differing tables; full workload below it): ${reproFile}`,
    ].join("\n");
    await opened.close().catch(() => undefined);
    return { pair: driver.pair, seed, events, elapsedMs: Date.now() - started, features, failure: { phase, message, differences, reproFile, report } };
  };

  // The downstream pipeline (a Kafka worker) after the first one caught up:
  // run it until the target equals the source, then stop it with SIGTERM.
  // Returns a failure message, or undefined when it settled.
  const settleDownstream = async (): Promise<{ message: string; differences: readonly Difference[]; stderr: string } | undefined> => {
    if (downstream === undefined) return undefined;
    marker("zeroetl run <downstream>   (until the target equals the source, then SIGTERM)");
    const child = startCli(["run", downstream.file], opened.env);
    const exited = child.result.then((r) => r);
    const deadline = Date.now() + timeout;
    let differences: readonly Difference[] = [];
    let early: CliResult | undefined;
    for (;;) {
      early = await Promise.race([exited, sleep(1000).then(() => undefined)]);
      if (early !== undefined) break;
      differences = await opened.compare({ twins: false });
      if (differences.length === 0 || Date.now() > deadline) break;
    }
    if (early === undefined) child.kill("SIGTERM");
    const stopTimer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const result = await exited;
    clearTimeout(stopTimer);
    const stderr = result.stderr.length > 3000 ? `${result.stderr.slice(0, 1500)}\n…\n` + result.stderr.slice(-1500) : result.stderr;
    if (early !== undefined) return { message: `downstream run exited ${result.code ?? result.signal} by itself`, differences: [], stderr };
    if (differences.length > 0) return { message: `downstream did not make the target equal the source within ${timeout / 1000} s`, differences, stderr };
    // a SIGTERM before the CLI installed its handler ends it by the signal: still our stop, not a failure
    if (result.code !== 0 && result.signal !== "SIGTERM") return { message: `downstream run exited ${result.code ?? result.signal} after SIGTERM`, differences: [], stderr };
    return undefined;
  };

  try {
    for (const step of workload.setup) await exec(step);
    phase = "snapshot";
    marker("zeroetl run --until-caught-up   (snapshot)");
    let run = await runUntilCaughtUp(file, opened.env, timeout);
    if (run.code !== 0) return await fail(run.timedOut ? "run hung" : `run exited ${run.code}`, [], run.stderr);
    let settled = await settleDownstream();
    if (settled !== undefined) return await fail(settled.message, settled.differences, settled.stderr);
    for (const [i, p] of workload.phases.entries()) {
      phase = `phase ${i + 1} (${p.end.kind})`;
      if (p.end.kind === "restart") {
        for (const step of p.steps) await exec(step);
        marker("zeroetl run --until-caught-up   (restart)");
        run = await runUntilCaughtUp(file, opened.env, timeout);
        if (run.code !== 0) return await fail(run.timedOut ? "run hung" : `run exited ${run.code}`, [], run.stderr);
        settled = await settleDownstream();
        if (settled !== undefined) return await fail(settled.message, settled.differences, settled.stderr);
        continue;
      }
      if (p.end.kind === "self-kill") {
        for (const step of p.steps) await exec(step);
        marker(`ZEROETL_TEST_KILL_AFTER='${p.end.plan}' zeroetl run --until-caught-up   (kills itself at that point)`);
        run = await runUntilCaughtUp(file, { ...opened.env, ZEROETL_TEST_KILL_AFTER: p.end.plan }, timeout);
        // the plan may not match (the run caught up first): a clean exit is fine too
        if (run.signal !== "SIGKILL" && run.code !== 0) return await fail(run.timedOut ? "run hung" : `run exited ${run.code ?? run.signal}`, [], run.stderr);
        continue;
      }
      marker(downstream === undefined ? "zeroetl run   (started in the background)" : "zeroetl run and zeroetl run <downstream>   (both started in the background)");
      const children = [startCli(["run", file], opened.env), ...(downstream === undefined ? [] : [startCli(["run", downstream.file], opened.env)])];
      const killAll = () => {
        marker(downstream === undefined ? "kill -9 of the running zeroetl" : "kill -9 of both running zeroetl processes");
        for (const child of children) child.kill("SIGKILL");
      };
      await sleep(p.end.delayMs);
      let killed = false;
      for (const [j, step] of p.steps.entries()) {
        if (j === p.end.afterStep) {
          killAll();
          killed = true;
        }
        await exec(step);
      }
      if (!killed) {
        await sleep(p.end.delayMs);
        killAll();
      }
      for (const child of children) await child.result;
    }
    phase = "final";
    marker("zeroetl run --until-caught-up   (final)");
    run = await runUntilCaughtUp(file, opened.env, timeout);
    if (run.code !== 0) return await fail(run.timedOut ? "run hung" : `run exited ${run.code}`, [], run.stderr);
    settled = await settleDownstream();
    if (settled !== undefined) return await fail(settled.message, settled.differences, settled.stderr);
    phase = "compare";
    await options.beforeCompare?.(opened.config);
    const differences = await opened.compare();
    const deadLetters = await readDeadLetters();
    if (differences.length > 0) return await fail(`${differences.length} difference(s) between source and target`, differences);
    if (deadLetters.trim() !== "") return await fail("records went to the dead-letter queue", []);
  } catch (error) {
    return await fail(`harness error: ${error instanceof Error ? error.message : String(error)}`, []);
  }
  await opened.close();
  return { pair: driver.pair, seed, events, elapsedMs: Date.now() - started, features };
}
