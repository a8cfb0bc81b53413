import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const script = join(dirname(fileURLToPath(import.meta.url)), "redshift-syntax-check.py");

/** A statement that failed the check, with sqlglot's error or the deny-list reason. */
export interface RedshiftSyntaxFailure {
  readonly statement: string;
  readonly reason: string;
}

/**
 * Parses statements with sqlglot's `redshift` dialect (installed by
 * `scripts/test-services.sh`) plus a deny-list of what sqlglot accepts and
 * Redshift rejects; returns the failures (empty when all pass).
 */
export async function checkRedshiftSyntax(statements: readonly string[]): Promise<RedshiftSyntaxFailure[]> {
  const child = spawn("python3", [script], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(JSON.stringify(statements));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`redshift-syntax-check.py failed (${code}): ${err}`);
  const reasons = JSON.parse(out) as (string | null)[];
  const failures: RedshiftSyntaxFailure[] = [];
  reasons.forEach((reason, i) => {
    if (reason !== null) failures.push({ statement: statements[i] ?? "", reason });
  });
  return failures;
}
