import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeBatch, Source } from "@zero-etl/core";
import { createPostgresSource } from "@zero-etl/sources/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { openStream, readSnapshot } from "./stream-harness.js";

let db: TestDatabase;
const sources: Source[] = [];

beforeAll(async () => {
  db = await createTestDatabase("pgsrc_ddl");
});

afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await db?.drop();
});

function source(suffix: string, include: (ref: { namespace: string; name: string }) => boolean): Source {
  const created = createPostgresSource({ url: db.url, pipeline: `${db.name}_${suffix}`, slot: `${db.name}_${suffix}`, publication: `pub_${suffix}`, include });
  sources.push(created);
  return created;
}

const changesOf = (batches: readonly ChangeBatch[]): string[] =>
  batches.flatMap((b) => (b.tableChanges ?? []).map((c) => `${c.kind} ${c.table.namespace}.${c.table.name}`));

describe("postgres source: DDL capture", () => {
  it("emits refresh and dropped for DDL that has no row events, in WAL order, each at the end of its transaction's batch; a forged drop is not believed", async () => {
    await db.query(`
      CREATE SCHEMA other;
      CREATE TABLE t (id int PRIMARY KEY, c int, v varchar(10));
      CREATE TABLE d (id int PRIMARY KEY);
      CREATE TABLE out_of_scope (id int PRIMARY KEY);
      INSERT INTO t VALUES (1, 1, 'a');`);
    const src = source("all", (ref) => ref.namespace === "public" && ref.name !== "out_of_scope");
    const session = await src.snapshot({});
    await readSnapshot(session.chunks);
    const stream = openStream(src, session.position);
    try {
      // one transaction each (a multi-statement query string would be one implicit transaction)
      for (const statement of [
        "ALTER TABLE t ADD COLUMN plain int",
        "ALTER TABLE t ADD COLUMN x numeric(12,2) DEFAULT 42.50",
        "ALTER TABLE t DROP COLUMN c",
        "ALTER TABLE t ADD COLUMN c int",
        "ALTER TABLE t ALTER COLUMN c TYPE bigint USING c * 1000",
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(20)",
        // a row first, so the stream knows t's columns again after the refreshes above
        "INSERT INTO t (id, v) VALUES (2, 'b')",
        "ALTER TABLE t RENAME COLUMN v TO w",
        "ALTER TABLE out_of_scope ADD COLUMN y int DEFAULT 1",
        "CREATE TABLE b (id int PRIMARY KEY)",
        "BEGIN; DROP TABLE d; CREATE TABLE d (k text PRIMARY KEY); COMMIT",
        "ALTER TABLE t RENAME TO t2",
        "ALTER TABLE t2 SET SCHEMA other",
        "ALTER TABLE other.t2 SET SCHEMA public",
        "CREATE TEMP TABLE tmp (id int)",
        // a forged message (any role may emit one) saying a table that is still there is gone
        `SELECT pg_logical_emit_message(true, 'zeroetl', json_build_object('v', 1, 'op', 'drop', 'oid', 'public.b'::regclass::oid, 'schema', 'public', 'name', 'b')::text)`,
        "INSERT INTO t2 VALUES (5)",
      ]) {
        await db.query(statement);
      }
      await stream.until((events) => events.some((e) => e.op === "insert" && e.table.name === "t2"));
      expect(changesOf(stream.batches)).toEqual([
        "refresh public.t", // default 42.50
        "refresh public.t", // c dropped and added again
        "refresh public.t", // rewritten by USING
        "refresh public.b", // created
        "dropped public.d",
        "refresh public.d", // created again
        "dropped public.t",
        "refresh public.t2", // renamed from t
        // moved out of scope: not a drop, since the stream reads this after t2 came back (same OID, same name)
        "refresh public.t2", // moved back
      ]);
      // a pure column rename is a schema event that says so, not a re-read
      const renames = stream.batches.flatMap((b) => b.events).filter((e) => e.op === "schema" && e.renamed !== undefined);
      expect(renames.map((e) => (e.op === "schema" ? [e.table.name, e.renamed, e.schema.columns.map((c) => c.name).includes("w")] : []))).toEqual([["t", { w: "v" }, true]]);
      // each table change ends its batch, and its batch carries its transaction's commit as checkpoint
      for (const batch of stream.batches) {
        if ((batch.tableChanges ?? []).length > 0) expect(batch.checkpoint).toBeDefined();
      }
      expect(stream.batches.flatMap((b) => (b.tableChanges ?? []).map((c) => c.reason))).toEqual([
        "column x added with a default the existing rows take",
        "column c dropped and added again",
        "table rewritten (e.g. ALTER COLUMN ... TYPE ... USING)",
        "table created",
        "table dropped",
        "table created",
        "renamed to public.t2",
        "renamed from public.t",
        "renamed from other.t2",
      ]);
    } finally {
      await stream.stop();
    }
  });

  it("never makes a user's DDL fail, and preflight reports the capture", async () => {
    const src = source("pf", (ref) => ref.namespace === "public");
    const report = await src.preflight({ fix: false });
    expect(report.checks.find((c) => c.id === "postgres.ddl_capture")).toMatchObject({ ok: true });
    // a disabled trigger is found, and --fix installs the capture again
    await db.query(`ALTER EVENT TRIGGER zeroetl_sql_drop DISABLE`);
    expect((await src.preflight({ fix: false })).checks.find((c) => c.id === "postgres.ddl_capture")).toMatchObject({ ok: false, severity: "warning", fixable: true });
    expect((await src.preflight({ fix: true })).checks.find((c) => c.id === "postgres.ddl_capture")).toMatchObject({ ok: true, fixed: true });
    expect((await db.query(`SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'zeroetl_sql_drop'`)).rows).toEqual([{ evtenabled: "O" }]);
    // the capture's state table is gone: DDL still succeeds (with a warning)
    await db.query(`ALTER TABLE _zeroetl.relations RENAME TO relations_gone`);
    await db.query(`CREATE TABLE still_works (id int); DROP TABLE still_works;`);
    await db.query(`ALTER TABLE _zeroetl.relations_gone RENAME TO relations`);
    // a role without any privilege on _zeroetl creates and alters its own tables
    await db.query(`CREATE ROLE zetl_ddl_app_${db.name} LOGIN; GRANT CREATE ON SCHEMA public TO zetl_ddl_app_${db.name}`);
    const url = new URL(db.url);
    url.username = `zetl_ddl_app_${db.name}`;
    const pg = (await import("pg")).default;
    const app = new pg.Client({ connectionString: url.toString() });
    await app.connect();
    try {
      await app.query(`CREATE TABLE app_t (id int PRIMARY KEY); ALTER TABLE app_t ADD COLUMN n int DEFAULT 3; DROP TABLE app_t;`);
    } finally {
      await app.end();
      await db.query(`DROP OWNED BY zetl_ddl_app_${db.name}; DROP ROLE zetl_ddl_app_${db.name}`);
    }
  });

  it("without the capture (a role that is not superuser), infers renames and defaults from Relation messages; once a superuser installed it, that role reads it", async () => {
    const fallback = await createTestDatabase("pgsrc_noddl");
    const role = `${fallback.name}_app`;
    await fallback.query(`CREATE ROLE ${role} LOGIN REPLICATION; GRANT CREATE ON DATABASE ${fallback.name} TO ${role}; GRANT CREATE ON SCHEMA public TO ${role}`);
    const url = new URL(fallback.url);
    url.username = role;
    const pg = (await import("pg")).default;
    const app = new pg.Client({ connectionString: url.toString() });
    await app.connect();
    const src = createPostgresSource({ url: url.toString(), pipeline: "noddl", include: (ref) => ref.namespace === "public" });
    try {
      await app.query(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)`);
      const check = (await src.preflight({ fix: true })).checks.find((c) => c.id === "postgres.ddl_capture");
      expect(check).toMatchObject({ ok: false, severity: "warning", fixed: false });
      const session = await src.snapshot({});
      await readSnapshot(session.chunks);
      const stream = openStream(src, session.position);
      try {
        // the stream is running (it introspected t) before the DDL: this fallback cannot see DDL made while stopped
        await stream.untilBatch(() => true);
        await app.query(`ALTER TABLE t RENAME TO t2`);
        await app.query(`INSERT INTO t2 VALUES (2)`);
        await app.query(`ALTER TABLE t2 ADD COLUMN x int DEFAULT 5`);
        await app.query(`INSERT INTO t2 VALUES (3)`);
        await stream.until((events) => events.filter((e) => e.op === "insert").length >= 2);
        expect(changesOf(stream.batches)).toEqual(["dropped public.t", "refresh public.t2", "refresh public.t2"]);
      } finally {
        await stream.stop();
      }
      // a superuser installs the capture once: this role's pipeline then reads it (a table created, which no Relation message shows)
      const admin = createPostgresSource({ url: fallback.url, pipeline: "noddl_admin", include: (ref) => ref.namespace === "public" });
      try {
        expect((await admin.preflight({ fix: true })).checks.find((c) => c.id === "postgres.ddl_capture")).toMatchObject({ fixed: true });
      } finally {
        await admin.close();
      }
      const resumed = openStream(src, stream.batches.at(-1)?.checkpoint ?? session.position);
      try {
        await resumed.untilBatch(() => true);
        await app.query(`CREATE TABLE created_later (id int PRIMARY KEY)`);
        await resumed.untilBatch((b) => (b.tableChanges ?? []).length > 0);
        expect(changesOf(resumed.batches)).toEqual(["refresh public.created_later"]);
      } finally {
        await resumed.stop();
      }
    } finally {
      await src.close();
      await app.end();
      await fallback.drop();
      await db.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });
});
