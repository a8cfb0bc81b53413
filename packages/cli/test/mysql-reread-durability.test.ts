import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

// MariaDB -> PostgreSQL through the real CLI: a DDL that forces a re-read of a
// keyless table, rows written after it (so the re-read holds them, and the
// stream replayed from the checkpoint before the re-read meets them again),
// and a SIGKILL placed exactly after the re-read's checkpoint, during that
// replay (ZEROETL_TEST_KILL_AFTER, the CLI's test-only kill switch). The next
// run must not apply those rows a second time: a keyless table has no key to
// absorb a replay, so it would hold them twice. Counted by plain SQL on both
// sides.
describe("zeroetl MariaDB -> PostgreSQL: a re-read survives a kill -9 during the replay that follows it", () => {
  let source: TestMysqlDatabase;
  let target: TestDatabase;
  let file: string;
  let killed: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    source = await createTestMysqlDatabase("reread_kill");
    target = await createTestDatabase("reread_kill_dst");
    ({ file } = await writeConfig({ name: "reread_kill", source: { type: "mysql", url: source.url }, target: { type: "postgres", url: target.url, schema: "dw" } }));
    await source.query(`CREATE TABLE kl (n INT, v VARCHAR(20)); INSERT INTO kl VALUES (1, 'a'), (2, 'b'), (2, 'b')`);
    // a keyed table beside it, written throughout, so the replay has rows to apply
    await source.query(`CREATE TABLE kd (id INT PRIMARY KEY, v INT); INSERT INTO kd VALUES (1, 0)`);
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO kl VALUES (3, 'c'), (3, 'c'); UPDATE kd SET v = v + 1`);
    // existing rows take the default, which no row event carries: the table is re-read
    await source.query(`ALTER TABLE kl ADD COLUMN d INT NOT NULL DEFAULT 42`);
    // after the DDL: in the re-read, and met again by the replay from the checkpoint before it
    await source.query(`INSERT INTO kl VALUES (4, 'd', 7), (4, 'd', 7), (5, 'e', 8); UPDATE kd SET v = v + 1; INSERT INTO kd VALUES (2, 5)`);
    await source.query(`DELETE FROM kl WHERE n = 1; INSERT INTO kl VALUES (6, 'f', 9)`);
    killed = await runCli(["run", file, "--until-caught-up"], { ZEROETL_TEST_KILL_AFTER: `snapshot-progress:table=${source.name}.kl,done=true>checkpoint` });
    const last = await runCli(["run", file, "--until-caught-up"]);
    expect(last.code, last.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const targetRows = async (sql: string): Promise<string[][]> => {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      return (await client.query<unknown[]>({ text: sql, rowMode: "array" })).rows.map((r) => r.map(String));
    } finally {
      await client.end();
    }
  };

  it("was killed right after the re-read's checkpoint", () => {
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
  });

  it("holds every row of the keyless table exactly as often as the source", async () => {
    const expected = ((await source.query(`SELECT CAST(n AS CHAR) AS n, v, CAST(d AS CHAR) AS d, CAST(COUNT(*) AS CHAR) AS c FROM kl GROUP BY n, v, d ORDER BY n, v, d`)) as Record<string, string>[]).map((r) => [
      r.n ?? "",
      r.v ?? "",
      r.d ?? "",
      r.c ?? "",
    ]);
    expect(expected).toHaveLength(5);
    expect(await targetRows(`SELECT n::text, v, d::text, count(*)::text FROM dw.kl GROUP BY n, v, d ORDER BY n, v, d`)).toEqual(expected);
    const [sourceCount] = (await source.query(`SELECT CAST(COUNT(*) AS CHAR) AS c FROM kl`)) as { c: string }[];
    expect(await targetRows(`SELECT count(*)::text FROM dw.kl`)).toEqual([[sourceCount?.c]]);
  });

  it("keeps the keyed table's changes", async () => {
    const expected = ((await source.query(`SELECT CAST(id AS CHAR) AS id, CAST(v AS CHAR) AS v FROM kd ORDER BY id`)) as Record<string, string>[]).map((r) => [r.id ?? "", r.v ?? ""]);
    expect(await targetRows(`SELECT id::text, v::text FROM dw.kd ORDER BY id`)).toEqual(expected);
  });
});
