import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresSource } from "@zero-etl/sources/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import type { PostgresTableInfo } from "../../src/postgres/postgres-introspector.js";
import { planPublication, publicationDdl, runPublicationDdl } from "../../src/postgres/postgres-publication.js";

const info = (name: string, extra: Partial<PostgresTableInfo> = {}): PostgresTableInfo => ({
  oid: 1,
  schema: { table: { namespace: "public", name }, columns: [], primaryKey: ["id"], version: 1 },
  columns: [],
  generated: [],
  replicaIdentity: "d",
  kind: "r",
  partition: false,
  persistence: "p",
  identityProblems: [],
  rowsEstimated: undefined,
  ...extra,
});

describe("publication plan", () => {
  it("leaves out unlogged, temporary and identity-less tables, and publishes the rest", () => {
    const plan = planPublication([
      info("ok"),
      info("ul", { persistence: "u" }),
      info("tmp", { persistence: "t" }),
      info("k", { identityProblems: [{ key: "public.k", sql: '"public"."k"', hasPrimaryKey: false }] }),
    ]);
    expect(plan.published.map((t) => t.schema.table.name)).toEqual(["ok"]);
    expect(plan.skipped.map((s) => [s.info.schema.table.name, s.reason])).toEqual([
      ["ul", "unlogged"],
      ["tmp", "temporary"],
      ["k", "replica-identity"],
    ]);
    expect(plan.skipped[2]?.message).toMatch(/public\.k has no usable replica identity: .*UPDATE and DELETE on it fail/);
  });

  it("creates, extends, cleans and re-roots the publication with quoted names", () => {
    const base = { allTables: false, harmful: [], viaRootWrong: false, partitions: "root" as const };
    expect(publicationDdl('my"pub', { ...base, exists: false, missing: [{ namespace: "S", name: "t" }] })).toEqual([
      'CREATE PUBLICATION "my""pub" FOR TABLE "S"."t" WITH (publish_via_partition_root = true)',
    ]);
    expect(publicationDdl("p", { ...base, exists: true, missing: [] })).toEqual([]);
    expect(
      publicationDdl("p", { ...base, exists: true, missing: [{ namespace: "public", name: "a" }], harmful: [{ namespace: "public", name: "k" }], viaRootWrong: true, partitions: "leaves" }),
    ).toEqual([
      'ALTER PUBLICATION "p" SET (publish_via_partition_root = false)',
      'ALTER PUBLICATION "p" DROP TABLE "public"."k"',
      'ALTER PUBLICATION "p" ADD TABLE "public"."a"',
    ]);
  });
});

describe("preflight with a FOR ALL TABLES publication of the user", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase("puball");
    await db.query("CREATE TABLE k (a int, v text); CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p_all FOR ALL TABLES");
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("says that it breaks the application's updates of keyless tables, and leaves it as it is", async () => {
    const source = createPostgresSource({ url: db.url, pipeline: "puball", publication: "p_all" });
    const report = await source.preflight({ fix: false });
    await source.close();
    expect(report.checks.find((c) => c.id === "postgres.publication")).toMatchObject({
      ok: false,
      fixable: false,
      message: "publication p_all is FOR ALL TABLES, so it publishes public.k whose UPDATE and DELETE therefore fail at the source",
    });
    const publication = await db.query<{ puballtables: boolean }>("SELECT puballtables FROM pg_publication WHERE pubname = 'p_all'");
    expect(publication.rows).toEqual([{ puballtables: true }]);
  });
});

describe("an incremental snapshot of a table the publication does not cover yet", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase("pubincr");
    await db.query("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, 'v' || g FROM generate_series(1, 5) g; CREATE PUBLICATION p_incr FOR TABLE a");
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("puts the table into the publication before its first chunk is read (a change after the read must reach the stream)", async () => {
    // b newly selected (a filter change): the stream has not restarted, so nothing has added it yet
    const source = createPostgresSource({ url: db.url, pipeline: "pubincr", publication: "p_incr" });
    try {
      const schema = (await source.introspect()).find((s) => s.table.name === "b");
      expect(schema).toBeDefined();
      if (schema === undefined || source.incremental === undefined) throw new Error("no schema of b, or no incremental reader");
      const chunk = await source.incremental.readChunk({ schema, limit: 3 });
      expect(chunk.rows).toHaveLength(3);
      const published = await db.query<{ tablename: string }>("SELECT tablename::text FROM pg_publication_tables WHERE pubname = 'p_incr' ORDER BY tablename");
      expect(published.rows.map((r) => r.tablename)).toEqual(["a", "b"]);
    } finally {
      await source.close();
    }
  });
});

describe("two connections of one source changing the publication at once", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase("pubrace");
    await db.query("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY); CREATE PUBLICATION p_race FOR TABLE a");
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("takes a table another connection added (or removed) since the inspection as done, and still adds the others", async () => {
    const table = (name: string) => ({ namespace: "public", name });
    const base = { exists: true, allTables: false, viaRootWrong: false, partitions: "root" as const };
    // inspected while b was missing and a was to leave; then another connection added b and dropped a
    const statements = publicationDdl("p_race", { ...base, missing: [table("b"), table("c")], harmful: [table("a")] });
    await db.query("ALTER PUBLICATION p_race ADD TABLE b");
    await db.query("ALTER PUBLICATION p_race DROP TABLE a");
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await runPublicationDdl(client, statements);
    } finally {
      await client.end();
    }
    const published = await db.query<{ tablename: string }>("SELECT tablename::text FROM pg_publication_tables WHERE pubname = 'p_race' ORDER BY tablename");
    expect(published.rows.map((r) => r.tablename)).toEqual(["b", "c"]);
  });
});
