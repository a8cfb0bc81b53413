import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../../test-support/mysql.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { deleteIndices, openSearchUrl, readAllDocuments, searchIds, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// MySQL (MariaDB) -> OpenSearch through the real CLI; documents read back with plain HTTP.
describe("zeroetl with MySQL (MariaDB) -> OpenSearch", () => {
  let source: TestMysqlDatabase;
  let config: string;
  const prefix = uniqueIndexPrefix("my");
  let index = "";

  const SOURCE_ROWS = `
    SELECT CAST(id AS CHAR) AS id, title, CAST(price AS CHAR) AS price, DATE_FORMAT(published, '%Y-%m-%dT%H:%i:%s.%f') AS published, qty
    FROM books ORDER BY id`;

  async function expectIndexEqualsSource(): Promise<void> {
    const rows = (await source.query(SOURCE_ROWS)) as Record<string, unknown>[];
    const documents = await readAllDocuments(index);
    expect([...documents.keys()].sort()).toEqual(rows.map((r) => String(r.id)).sort());
    for (const row of rows) {
      const d = documents.get(String(row.id)) as Record<string, unknown>;
      expect({ id: d.id, title: d.title, price: d.price ?? null, published: d.published ?? null, qty: d.qty ?? null }, `document ${String(row.id)}`).toEqual(row);
    }
  }

  beforeAll(async () => {
    source = await createTestMysqlDatabase("os_my");
    index = `${prefix}.${source.name}.books`.toLowerCase();
    await source.query(`
      CREATE TABLE books (
        id BIGINT UNSIGNED PRIMARY KEY, title VARCHAR(200) NOT NULL, price DECIMAL(10,2), published DATETIME(6), qty INT);
      INSERT INTO books VALUES
        (18446744073709551615, 'The largest key', 12345678.91, '2026-01-02 03:04:05.123456', 1),
        (2, 'Verses of the sea', 1.50, NULL, NULL),
        (3, 'Cosmos and the sea', 9.99, '2026-03-04 05:06:07.000000', 7);`);
    ({ file: config } = await writeConfig({
      name: `os_my_${process.pid}`,
      source: { type: "mysql", url: source.url },
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{namespace}.{table}` },
      filter: { include: [`${source.name}.books`] },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await deleteIndices(prefix);
  });

  it("snapshots and streams inserts, updates, a key change, deletes and a new column", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await expectIndexEqualsSource();

    await source.query(`
      START TRANSACTION;
      INSERT INTO books VALUES (4, 'Whodunit by the sea', 7.25, '2026-02-03 04:05:06.000001', 4);
      UPDATE books SET id = 20, title = 'Verses II' WHERE id = 2;
      UPDATE books SET price = price + 1, qty = qty + 1 WHERE id = 3;
      COMMIT;
      ALTER TABLE books ADD COLUMN isbn VARCHAR(20);
      UPDATE books SET isbn = '978-3-16-148410-0' WHERE id = 4;
      DELETE FROM books WHERE id = 18446744073709551615;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    await expectIndexEqualsSource();
    expect(await searchIds(index, { term: { "isbn.keyword": "978-3-16-148410-0" } })).toEqual(["4"]);
    expect(await searchIds(index, { range: { price: { gt: 5, lt: 100 } } })).toEqual(["3", "4"]);
    expect(await searchIds(index, { match: { title: "sea" } })).toEqual(["3", "4"]);
  });

  it("names the field of a bad OpenSearch target", async () => {
    const { file } = await writeConfig({ name: "bad_os", source: { type: "mysql", url: source.url }, target: { type: "opensearch", node: "ftp://x", index: "no-table" } });
    const run = await runCli(["run", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("target.node: expected a http:// URL");
    const { file: noTable } = await writeConfig({ name: "bad_os", source: { type: "mysql", url: source.url }, target: { type: "opensearch", node: openSearchUrl(), index: "static" } });
    const second = await runCli(["run", noTable]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("target.index: expected a template containing {table}");
  });
});
