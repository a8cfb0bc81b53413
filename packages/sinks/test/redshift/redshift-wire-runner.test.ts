import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedshiftWireRunner } from "../../src/redshift/index.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

// The wire-protocol runner speaks plain PostgreSQL protocol, so its
// transaction and parameter handling are checked against the local server.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase("rs_wire");
});

afterAll(async () => {
  await db.drop();
});

describe("wire runner", () => {
  it("commits a transaction as a whole, rolls it back as a whole, binds :named parameters, keeps the password out of errors", async () => {
    const url = db.url.replace(/^postgres(ql)?:/, "redshift:");
    const runner = createRedshiftWireRunner({ url });
    await runner.execute("CREATE TABLE t (id int PRIMARY KEY, name varchar(20))");
    await runner.transaction(["INSERT INTO t VALUES (1, 'one')", "INSERT INTO t VALUES (2, 'two')"]);
    await expect(runner.transaction(["INSERT INTO t VALUES (3, 'three')", "INSERT INTO t VALUES (1, 'dup')"])).rejects.toMatchObject({ code: "sink-failed", retryable: false });
    expect(await runner.query("SELECT id::text AS id, name FROM t WHERE name = :name OR id = :id ORDER BY id", { name: "two", id: "1" })).toEqual([
      { id: "1", name: "one" },
      { id: "2", name: "two" },
    ]);
    await runner.close();
    const bad = createRedshiftWireRunner({ url: "redshift://zeroetl:s3cr3t-pass@127.0.0.1:1/dev", connectTimeoutMs: 2000 });
    const error = await bad.query("SELECT 1").catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: "connection-failed", retryable: true });
    expect(String((error as Error).message)).not.toContain("s3cr3t-pass");
    await bad.close();
  });
});
