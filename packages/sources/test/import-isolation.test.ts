import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Everything a fresh Node process resolves while importing `entry`, one `RESOLVE <specifier>` line each. */
function resolutionsOf(entry: string): string {
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(specifier, context, next) { process.stderr.write('RESOLVE ' + specifier + '\\n'); return next(specifier, context); }",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from "node:module"; register(${JSON.stringify(hook)});`)}`;
  const result = spawnSync(
    process.execPath,
    ["--conditions=zero-etl-source", "--import", "tsx", "--import", register, "--input-type=module", "-e", `await import(${JSON.stringify(entry)});`],
    { cwd: root, encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`import of ${entry} failed: ${result.stderr}`);
  return result.stderr;
}

describe("subpath exports keep connectors apart", () => {
  it("importing the PostgreSQL source loads neither the AWS SDK nor MySQL or Iceberg code", () => {
    const resolved = resolutionsOf("@zero-etl/sources/postgres");
    expect(resolved).toMatch(/^RESOLVE pg$/m);
    expect(resolved).not.toMatch(/RESOLVE @aws-sdk/);
    expect(resolved).not.toMatch(/RESOLVE mysql2/);
    expect(resolved).not.toMatch(/hyparquet/);
  });

  it("importing the DynamoDB source loads neither pg nor mysql2", () => {
    const resolved = resolutionsOf("@zero-etl/sources/dynamodb");
    expect(resolved).toMatch(/dynamodb-source/);
    expect(resolved).not.toMatch(/^RESOLVE pg$/m);
    expect(resolved).not.toMatch(/RESOLVE mysql2/);
  });

  it("importing the Oracle source loads neither oracledb (loaded on the first connection) nor pg or mysql2", () => {
    const resolved = resolutionsOf("@zero-etl/sources/oracle");
    expect(resolved).toMatch(/oracle-source/);
    expect(resolved).not.toMatch(/RESOLVE oracledb/);
    expect(resolved).not.toMatch(/^RESOLVE pg$/m);
    expect(resolved).not.toMatch(/RESOLVE mysql2/);
  });
});
