import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, TEST_PG_URL, withDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { describePgError } from "../../sinks/src/postgres/postgres-error-classifier.js";

// Errors name what the operator must fix (column, relation, user, database,
// schema) and hide what may be secret (row values, passwords).
describe("error messages name identifiers, not values", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("names_src");
    target = await createTestDatabase("names_dst");
    await source.query("CREATE TABLE items (id int PRIMARY KEY)");
    await target.query("DROP ROLE IF EXISTS zetl_names_nocreate");
    await target.query("CREATE ROLE zetl_names_nocreate LOGIN");
    await target.query(`REVOKE CREATE ON DATABASE ${target.name} FROM PUBLIC`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    await admin.query("DROP ROLE IF EXISTS zetl_names_nocreate").catch(() => {});
    await admin.end();
  });

  async function runAgainst(targetUrl: string, schema = "replica") {
    const { file } = await writeConfig({
      name: "names",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: targetUrl, schema },
      retry: { maxElapsedMs: 0 },
    });
    return runCli(["run", file, "--until-caught-up"]);
  }

  it("names a missing target database", async () => {
    const result = await runAgainst(withDatabase(target.url, "zetl_names_missing"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to postgresql target 127.0.0.1:55432/zetl_names_missing: SQLSTATE 3D000: database "zetl_names_missing" does not exist');
  });

  it("names an unknown target user, never the password", async () => {
    const url = new URL(target.url);
    url.username = "zetl_no_such_user";
    url.password = "hunter2";
    const result = await runAgainst(url.toString());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/role "zetl_no_such_user" does not exist/);
    expect(result.stderr).not.toContain("hunter2");
  });

  it("names the target schema it cannot create", async () => {
    const url = new URL(target.url);
    url.username = "zetl_names_nocreate";
    const result = await runAgainst(url.toString(), "not_allowed");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('create target schema "not_allowed" failed: SQLSTATE 42501: permission denied for database');
  });

  it("keeps column and relation names of real server errors and elides values", async () => {
    const failure = async (sql: string): Promise<unknown> => target.query(sql).then(() => expect.fail(`${sql} succeeded`), (error: unknown) => error);
    await target.query("CREATE TABLE t (id int PRIMARY KEY)");
    expect(describePgError(await failure("SELECT nope FROM t"))).toBe('SQLSTATE 42703: column "nope" does not exist');
    expect(describePgError(await failure("INSERT INTO t (id, nope) VALUES (1, 2)"))).toBe('SQLSTATE 42703: column "nope" of relation "t" does not exist');
    expect(describePgError(await failure("SELECT * FROM missing_relation"))).toBe('SQLSTATE 42P01: relation "missing_relation" does not exist');
    expect(describePgError(await failure("SELECT 'secret-value'::int"))).toBe("SQLSTATE 22P02: invalid input syntax for type integer");
  });
});
