import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

describe("zeroetl with MySQL (MariaDB) -> PostgreSQL", () => {
  let source: TestMysqlDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestMysqlDatabase("cli_my");
    target = await createTestDatabase("cli_my_dst");
    await source.query(`
      CREATE TABLE books (
        id BIGINT UNSIGNED PRIMARY KEY, title VARCHAR(200) NOT NULL, category ENUM('mysteries','poetry','science') NOT NULL,
        price DECIMAL(65,30), published DATETIME(6), meta JSON, cover BLOB);
      INSERT INTO books VALUES
        (18446744073709551615, 'Max 📚', 'mysteries', 12345678901234567890123456789012345.123456789012345678901234567890, '2026-01-02 03:04:05.123456', '{"pages": 320}', x'00ff'),
        (2, 'Verses', 'poetry', 1.5, NULL, NULL, NULL);
      CREATE TABLE secrets (id INT PRIMARY KEY, v TEXT);
      INSERT INTO secrets VALUES (1, 'not for the warehouse');`);
    ({ file: config } = await writeConfig({
      name: "cli_mysql",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "books_dw" },
      filter: { include: [`${source.name}.books`], rows: { [`${source.name}.books`]: "category <> 'science'" } },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("snapshots, streams changes including an ALTER TABLE, and applies table and row filters", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    // an excluded table is not even read from the source
    expect(first.stdout).toMatch(/\.books\s+2/);
    expect(first.stdout).not.toMatch(/secrets/);

    await source.query(`
      START TRANSACTION;
      INSERT INTO books VALUES (3, 'Cosmos', 'science', 9.99, NULL, NULL, NULL);
      INSERT INTO books VALUES (4, 'Whodunit', 'mysteries', 7.25, '2026-02-03 04:05:06.000001', '[1, 2]', NULL);
      UPDATE books SET id = 20, title = 'Verses II' WHERE id = 2;
      COMMIT;
      ALTER TABLE books ADD COLUMN isbn VARCHAR(20);
      UPDATE books SET isbn = '978-3-16-148410-0' WHERE id = 4;
      DELETE FROM books WHERE id = 18446744073709551615;
      INSERT INTO secrets VALUES (2, 'still not');`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const rows = (await target.query(
      `SELECT id::text AS id, title, category, price::text AS price, published::text AS published, meta::text AS meta, isbn FROM books_dw.books ORDER BY books.id`,
    )).rows;
    expect(rows).toEqual([
      { id: "4", title: "Whodunit", category: "mysteries", price: "7.250000000000000000000000000000", published: "2026-02-03 04:05:06.000001", meta: "[1, 2]", isbn: "978-3-16-148410-0" },
      { id: "20", title: "Verses II", category: "poetry", price: "1.500000000000000000000000000000", published: null, meta: null, isbn: null },
    ]);
    const excluded = await target.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'books_dw' AND table_name = 'secrets'`);
    expect(excluded.rows[0]?.n).toBe(0);
  });
});

describe("zeroetl with an unreachable or refusing MySQL source", () => {
  it("names the server and the reason, never the password, and does not retry bad credentials", async () => {
    const { file } = await writeConfig({
      name: "my_denied",
      source: { type: "mysql", url: "mysql://cdc:Hunter2Secret@127.0.0.1:53306/zetl_nothing" },
      target: { type: "postgres", url: "postgres://postgres@127.0.0.1:1/x" },
    });
    const run = await runCli(["run", file, "--until-caught-up"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to mysql source at 127\.0\.0\.1:53306\/zetl_nothing: Access denied for user 'cdc'@'127\.0\.0\.1' \(using password: \*\*\*\)/);
    expect(run.stderr).not.toContain("Hunter2Secret");
    expect(run.stderr).not.toMatch(/retrying/);
  });
});
