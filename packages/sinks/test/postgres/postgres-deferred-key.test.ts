import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferPrimaryKey, recoverDeferredKeys, restoreDeferredKey, type SqlQuery } from "../../src/postgres/postgres-deferred-key.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";

// When the sink sets a table's primary key aside for a COPY load, and when it
// must not (the crash-safe cycle itself is tested through the CLI with a
// kill -9 in packages/cli/test/postgres-deferred-key.test.ts).
describe("deferPrimaryKey / restoreDeferredKey / recoverDeferredKeys", () => {
  let db: TestDatabase;
  let client: pg.Client;
  let query: SqlQuery;

  beforeAll(async () => {
    db = await createTestDatabase("dkey_unit");
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    query = async <R>(text: string, values?: readonly unknown[]) => (await client.query(text, values === undefined ? undefined : [...values])).rows as R[];
    await db.query(`CREATE SCHEMA dw`);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const keyOf = async (table: string): Promise<string | undefined> =>
    (await db.query<{ def: string }>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [table])).rows[0]?.def;
  const records = async (): Promise<string[]> => (await db.query<{ t: string }>(`SELECT table_name AS t FROM dw._zeroetl_deferred_keys ORDER BY 1`)).rows.map((r) => r.t);

  it("sets an empty table's key aside with its options, puts it back as it was, and refuses duplicates", async () => {
    await db.query(`CREATE TABLE dw."Odd ""name""" (a int, b text, c int, CONSTRAINT "my pk" PRIMARY KEY (b, a) INCLUDE (c) WITH (fillfactor = 70))`);
    const key = await deferPrimaryKey(query, { schema: "dw", table: 'Odd "name"' }, { pipeline: "p1" });
    expect(key?.constraint).toBe("my pk");
    expect(await keyOf(`dw."Odd ""name"""`)).toBeUndefined();
    expect(await records()).toEqual(['Odd "name"']);
    if (key === undefined) throw new Error("not deferred");
    await db.query(`INSERT INTO dw."Odd ""name""" VALUES (1, 'x', 0), (1, 'x', 1)`);
    // duplicates: the key cannot come back, and nothing changes
    await expect(restoreDeferredKey(query, key, { truncate: false })).rejects.toThrow(/could not create unique index/);
    expect(await records()).toEqual(['Odd "name"']);
    // a failed load: emptied and keyed again, the record gone
    await restoreDeferredKey(query, key, { truncate: true });
    expect(await keyOf(`dw."Odd ""name"""`)).toBe("PRIMARY KEY (b, a) INCLUDE (c)");
    const options = await db.query(`SELECT x.reloptions FROM pg_constraint c JOIN pg_class x ON x.oid = c.conindid WHERE c.conrelid = 'dw."Odd ""name"""'::regclass AND c.contype = 'p'`);
    expect(options.rows).toEqual([{ reloptions: ["fillfactor=70"] }]);
    expect((await db.query(`SELECT count(*)::int AS n FROM dw."Odd ""name"""`)).rows).toEqual([{ n: 0 }]);
    expect(await records()).toEqual([]);
  });

  it("leaves the key where setting it aside is not safe or not possible", async () => {
    await db.query(`
      CREATE TABLE dw.full_t (id int PRIMARY KEY); INSERT INTO dw.full_t VALUES (1);
      CREATE TABLE dw.parent (id int PRIMARY KEY); CREATE TABLE dw.child (p int REFERENCES dw.parent (id));
      CREATE TABLE dw.ident (id int PRIMARY KEY); ALTER TABLE dw.ident REPLICA IDENTITY USING INDEX ident_pkey;
      CREATE TABLE dw.keyless (id int);
      CREATE TABLE dw.late (id int PRIMARY KEY DEFERRABLE);
      CREATE TABLE dw.busy (id int PRIMARY KEY);`);
    for (const table of ["full_t", "parent", "ident", "keyless", "late"]) expect(await deferPrimaryKey(query, { schema: "dw", table }, { pipeline: "p1" }), table).toBeUndefined();
    // another session reads the table in an open transaction: not waited for beyond the limit
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await reader.query("BEGIN; SELECT count(*) FROM dw.busy");
      expect(await deferPrimaryKey(query, { schema: "dw", table: "busy" }, { pipeline: "p1", lockWaitMs: 200 })).toBeUndefined();
    } finally {
      await reader.end();
    }
    for (const table of ["full_t", "parent", "ident", "busy"]) expect(await keyOf(`dw.${table}`), table).toBe("PRIMARY KEY (id)");
    expect((await db.query(`SELECT count(*)::int AS n FROM dw.full_t`)).rows).toEqual([{ n: 1 }]);
    expect(await records()).toEqual([]);
  });

  it("recovers what a run that died left: tables emptied and keyed, records of gone tables dropped", async () => {
    await db.query(`CREATE TABLE dw.loading (id bigint PRIMARY KEY, v text); CREATE TABLE dw.gone (id int PRIMARY KEY); CREATE TABLE dw.others (id int PRIMARY KEY)`);
    const loading = await deferPrimaryKey(query, { schema: "dw", table: "loading" }, { pipeline: "p1" });
    const gone = await deferPrimaryKey(query, { schema: "dw", table: "gone" }, { pipeline: "p1" });
    // another pipeline writing to the same schema, loading its own table right now
    const others = await deferPrimaryKey(query, { schema: "dw", table: "others" }, { pipeline: "p2" });
    expect(loading !== undefined && gone !== undefined && others !== undefined).toBe(true);
    // rows of a load that did not finish, one of them twice (two attempts of a range)
    await db.query(`INSERT INTO dw.loading VALUES (1, 'a'), (2, 'b'), (1, 'a'); DROP TABLE dw.gone; INSERT INTO dw.others VALUES (7), (8)`);
    expect(await recoverDeferredKeys(query, "dw", "p1")).toEqual(["loading"]);
    // the other pipeline's load is left alone: its rows stay, its key is still set aside
    expect((await db.query(`SELECT count(*)::int AS n FROM dw.others`)).rows).toEqual([{ n: 2 }]);
    expect(await keyOf("dw.others")).toBeUndefined();
    if (others !== undefined) await restoreDeferredKey(query, others, { truncate: false });
    expect(await keyOf("dw.loading")).toBe("PRIMARY KEY (id)");
    expect((await db.query(`SELECT count(*)::int AS n FROM dw.loading`)).rows).toEqual([{ n: 0 }]);
    expect(await records()).toEqual([]);
    expect(await recoverDeferredKeys(query, "dw", "p1")).toEqual([]);
    // a schema that never deferred a key has nothing to recover
    expect(await recoverDeferredKeys(query, "public", "p1")).toEqual([]);
  });
});
