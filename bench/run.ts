/**
 * `pnpm bench`: runs every benchmark in this folder (or those named on the
 * command line) one after another, each in its own process so one cannot
 * warm or pollute the other, then repeats their `RATIO <name> <value>` lines
 * together at the end (and `LAG p50=… p99=…` lines, which have no reference
 * tool). Each benchmark measures its reference tool in the same run and
 * prints the ratio ours/reference (higher is better).
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const requested = process.argv.slice(2);
const all = (await readdir(here)).filter((f) => f.endsWith(".ts") && f !== "run.ts").map((f) => f.replace(/\.ts$/, "")).sort();
const chosen = requested.length > 0 ? requested : all;
const ratios: string[] = [];
let failed = 0;

for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`no benchmark named ${name}; have: ${all.join(", ")}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--conditions=zero-etl-source", "--import", "tsx", join(here, `${name}.ts`)], { stdio: ["ignore", "pipe", "inherit"] });
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("RATIO ") || line.startsWith("LAG ")) ratios.push(line);
    });
    child.on("exit", (c) => {
      if (buffered.startsWith("RATIO ") || buffered.startsWith("LAG ")) ratios.push(buffered);
      resolve(c ?? 1);
    });
  });
  if (code !== 0) {
    failed += 1;
    console.error(`benchmark ${name} failed with exit code ${code}`);
  }
}

console.log("\n=== summary (ours / reference, higher is better) ===");
for (const line of ratios) console.log(line);
if (failed > 0) process.exitCode = 1;
