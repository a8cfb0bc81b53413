import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

describe("zeroetl with PostgreSQL -> PostgreSQL", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("cli_src");
    target = await createTestDatabase("cli_dst");
    await source.query(`
      CREATE TYPE mood AS ENUM ('happy', 'sad');
      CREATE TABLE items (
        id bigint PRIMARY KEY, name text NOT NULL, price numeric(38,10), big int8, at timestamptz(6), day date,
        doc jsonb, raw bytea, tags text[], feeling mood, uid uuid);
      CREATE TABLE keyless (a int, b text);
      INSERT INTO items VALUES
        (1, 'first', 1234567890123456789012345678.0123456789, 9223372036854775807, '2026-01-02 03:04:05.123456+00', '2026-01-02',
         '{"n": 123456789012345678901234567890, "a": [1, {"b": null}]}', '\\xdeadbeef', ARRAY['x', 'y"z', NULL], 'happy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
        (2, 'second', NULL, -9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
      INSERT INTO keyless VALUES (1, 'one');`);
    ({ file: config } = await writeConfig({
      name: "cli_pg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("check names what is missing, and --fix fixes it", async () => {
    const before = await runCli(["check", config]);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/publication/i);
    expect(before.stdout).toMatch(/keyless/);
    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const after = await runCli(["check", config]);
    expect(after.code, after.stdout).toBe(0);
  });

  it("snapshots, streams changes and schema changes, and reports status", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/public\.items\s+2/);

    await source.query(`
      BEGIN;
      INSERT INTO items (id, name, price) VALUES (3, 'third', 0.0000000001);
      UPDATE items SET name = 'FIRST', id = 10 WHERE id = 1;
      DELETE FROM items WHERE id = 2;
      INSERT INTO keyless VALUES (2, 'two');
      COMMIT;
      ALTER TABLE items ADD COLUMN note varchar(20);
      UPDATE items SET note = 'noted' WHERE id = 3;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const cols = `id, name, price::text, big::text, at, day::text, doc::text, encode(raw, 'hex') AS raw, feeling::text AS feeling, uid::text AS uid`;
    const expected = (await source.query(`SELECT ${cols} FROM items ORDER BY id`)).rows;
    const actual = (await target.query(`SELECT ${cols} FROM dw.items ORDER BY id`)).rows;
    expect(actual).toEqual(expected);
    expect((await target.query(`SELECT note FROM dw.items WHERE id = 3`)).rows).toEqual([{ note: "noted" }]);
    expect((await target.query(`SELECT a, b FROM dw.keyless ORDER BY a`)).rows).toEqual([{ a: 1, b: "one" }, { a: 2, b: "two" }]);

    const status = await runCli(["status", config]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/public\.items\s+synced/);
    expect(status.stdout).toMatch(/phase streaming/);
    expect(status.stdout).toMatch(/ok\s+postgres\.slot_wal\s+replication slot zeroetl_cli_pg retains \d+ MB of WAL/);
  });

  it("gives clear errors for a bad config and an unreachable server, without the password", async () => {
    const { file: bad } = await writeConfig({ name: "bad", source: { type: "postgres", url: "mysql://x" }, target: { type: "postgres", url: target.url } });
    const badRun = await runCli(["run", bad]);
    expect(badRun.code).toBe(2);
    expect(badRun.stderr).toContain("source.url: expected a postgres:// URL");

    const { file: unreachable } = await writeConfig({
      name: "down",
      source: { type: "postgres", url: "postgres://app:TopSecret42@127.0.0.1:1/nothing" },
      target: { type: "postgres", url: target.url },
    });
    const downRun = await runCli(["check", unreachable]);
    expect(downRun.code).not.toBe(0);
    expect(downRun.stdout + downRun.stderr).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|connect/i);
    expect(downRun.stdout + downRun.stderr).not.toContain("TopSecret42");

    const { file: missing } = await writeConfig({
      name: "missing",
      source: { type: "postgres", url: "postgres://postgres:TopSecret42@127.0.0.1:55432/zetl_no_such_database" },
      target: { type: "postgres", url: target.url },
    });
    const missingRun = await runCli(["run", missing, "--until-caught-up"]);
    expect(missingRun.code).toBe(1);
    expect(missingRun.stderr).toContain('cannot connect to postgres source at 127.0.0.1:55432/zetl_no_such_database: database "zetl_no_such_database" does not exist');
    // a missing database is not retried
    expect(missingRun.stderr).not.toMatch(/retrying/);
    expect(missingRun.stderr).not.toContain("TopSecret42");
  });
});
