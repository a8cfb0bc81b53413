import { ciGates } from "./feature-gates.js";
import { generateDynamoWorkload } from "./dynamodb-workload-generator.js";
import { generateMysqlWorkload } from "./mysql-workload-generator.js";
import { PAIRS, type PairName } from "./pair-driver.js";
import { generatePgWorkload } from "./pg-workload-generator.js";
import { createRng, hashSeed, type Rng } from "./prng.js";
import type { FeatureCheck, Workload } from "./workload.js";

// `node --conditions=zero-etl-source --import tsx fidelity/src/pick-ci-seeds.ts [maxSeed]`
// Generates (without running) the workloads of seeds 1..maxSeed with the CI
// gates and prints, per pair, the two seeds that together exercise the most
// CI gates with the fewest steps. Run it after flipping a gate, put the seeds
// into ci-seeds.ts, and check them with `pnpm fuzz --pair P --seed S`.
const GENERATORS: Record<PairName, { prefix: string; generate: (rng: Rng, on: FeatureCheck) => Workload }> = {
  "pg-pg": { prefix: "pg", generate: (rng, on) => generatePgWorkload({ rng, on, qualifiedNames: true }) },
  "mysql-pg": { prefix: "mysql", generate: (rng, on) => generateMysqlWorkload({ rng, on }) },
  "pg-iceberg": { prefix: "iceberg", generate: (rng, on) => generatePgWorkload({ rng, on, maxNumericPrecision: 38, qualifiedNames: false }) },
  "dynamodb-pg": { prefix: "dynamodb", generate: (rng, on) => generateDynamoWorkload({ rng, on }) },
  "pg-opensearch": { prefix: "opensearch", generate: (rng, on) => generatePgWorkload({ rng, on, qualifiedNames: false }) },
  "pg-kafka-pg": { prefix: "kafka", generate: (rng, on) => generatePgWorkload({ rng, on, qualifiedNames: false }) },
  "pg-redshift": { prefix: "redshift", generate: (rng, on) => generatePgWorkload({ rng, on, maxNumericPrecision: 38, qualifiedNames: false }) },
};

const maxSeed = Number(process.argv[2] ?? "300");
for (const pair of PAIRS) {
  const { prefix, generate } = GENERATORS[pair];
  const gates = new Set<string>(ciGates(prefix));
  const on = (f: string) => gates.has(`${prefix}.${f}`);
  const seeds = Array.from({ length: maxSeed }, (_, i) => {
    const w = generate(createRng(hashSeed(`${pair}:${i + 1}`)), on);
    return { seed: i + 1, features: [...w.usedFeatures].map((f) => `${prefix}.${f}`), steps: w.setup.length + w.phases.reduce((s, p) => s + p.steps.length, 0) };
  });
  let best = { a: 1, b: 2, cover: -1, steps: Infinity, missing: [] as string[] };
  for (const a of seeds)
    for (const b of seeds) {
      if (a.seed >= b.seed) continue;
      const covered = new Set([...a.features, ...b.features]);
      const steps = a.steps + b.steps;
      if (covered.size > best.cover || (covered.size === best.cover && steps < best.steps))
        best = { a: a.seed, b: b.seed, cover: covered.size, steps, missing: [...gates].filter((g) => !covered.has(g)) };
    }
  // Two seeds rarely cover every gate once most are on: add, greedily, the
  // seed that covers the most of what is still missing (fewest steps on a tie).
  const picked = [best.a, best.b];
  let missing = best.missing;
  let steps = best.steps;
  while (missing.length > 0) {
    let next = { seed: 0, gain: 0, steps: Infinity };
    for (const s of seeds) {
      const gain = missing.filter((g) => s.features.includes(g)).length;
      if (gain > next.gain || (gain === next.gain && gain > 0 && s.steps < next.steps)) next = { seed: s.seed, gain, steps: s.steps };
    }
    if (next.gain === 0) break;
    const chosen = seeds[next.seed - 1];
    picked.push(next.seed);
    steps += next.steps;
    missing = missing.filter((g) => !(chosen?.features.includes(g) ?? false));
  }
  process.stdout.write(`${pair}: seeds [${picked.join(", ")}] cover ${gates.size - missing.length}/${gates.size} CI gates in ${steps} steps${missing.length > 0 ? `; not covered: ${missing.join(", ")}` : ""}\n`);
}
