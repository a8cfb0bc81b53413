/**
 * Runs Debezium's LogMiner DML parser (OracleDmlHarness.java, built by
 * build.sh through `scripts/test-services.sh oracle-debezium`) over
 * statements, for the differential test and the `oracle-parse` bench.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A statement and the table Debezium resolves its columns against. */
export interface HarnessStatement {
  readonly table: { readonly owner: string; readonly name: string; readonly columns: readonly { readonly name: string; readonly dataType: string }[] };
  readonly sql: string;
}

/** Debezium's value: a string, null, or its placeholder for a LOB not in the redo. */
export type DebeziumValue = string | null | { readonly unavailable: true };

/** Debezium's parse of one statement, values by table column position, or its error. */
export type DebeziumEntry =
  | { readonly op: "i" | "u" | "d"; readonly old: readonly DebeziumValue[]; readonly new: readonly DebeziumValue[] }
  | { readonly error: string };

/** Fetches the jars and compiles the harness when needed (minutes the first time); returns the classpath. */
export async function buildDebeziumHarness(): Promise<string> {
  const { stdout } = await run("bash", [join(root, "scripts", "test-services.sh"), "oracle-debezium"], { maxBuffer: 1 << 20 });
  const classpath = stdout.trim().split("\n").pop() ?? "";
  if (classpath === "") throw new Error("scripts/test-services.sh oracle-debezium printed no classpath");
  return classpath;
}

/** Writes statements in the harness's input format (a TABLE block whenever the table changes). */
export async function writeHarnessInput(path: string, statements: Iterable<HarnessStatement>): Promise<void> {
  const parts: string[] = [];
  let last: HarnessStatement["table"] | undefined;
  for (const { table, sql } of statements) {
    if (table !== last) {
      parts.push(`TABLE ${table.owner}\t${table.name}\t${table.columns.length}\n`);
      for (const column of table.columns) parts.push(`${column.name}\t${column.dataType}\n`);
      last = table;
    }
    parts.push(`SQL ${sql.length}\n${sql}\n`);
  }
  await writeFile(path, parts.join(""), "utf8");
}

/** Parses every statement with Debezium's parser; one entry per statement, in order. */
export async function parseWithDebezium(classpath: string, statements: readonly HarnessStatement[]): Promise<DebeziumEntry[]> {
  const dir = await mkdtemp(join(tmpdir(), "zetl-oracle-dbz-"));
  try {
    const input = join(dir, "in.txt");
    const output = join(dir, "out.jsonl");
    await writeHarnessInput(input, statements);
    await run("java", ["-Xmx512m", "-cp", classpath, "OracleDmlHarness", "parse", input, output], { maxBuffer: 1 << 20 });
    const lines = (await readFile(output, "utf8")).split("\n").filter((l) => l !== "");
    return lines.map((l) => JSON.parse(l) as DebeziumEntry);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Times Debezium's parser on an input file (warm-up rounds first): nanoseconds per statement, and the indexes of statements it threw on (left out). */
export async function benchDebezium(classpath: string, inputPath: string, rounds: number): Promise<{ nsPerStatement: number; failed: ReadonlySet<number> }> {
  const { stdout } = await run("java", ["-Xmx4g", "-cp", classpath, "OracleDmlHarness", "bench", inputPath, String(rounds)], { maxBuffer: 1 << 20 });
  const match = /DEBEZIUM_NS_PER_STATEMENT ([\d.]+)/.exec(stdout);
  if (match === null) throw new Error(`the harness printed no timing: ${stdout}`);
  const failedList = /DEBEZIUM_FAILED ([\d,]*)/.exec(stdout)?.[1] ?? "";
  const failed = new Set(failedList === "" ? [] : failedList.split(",").map(Number));
  return { nsPerStatement: Number(match[1]), failed };
}
