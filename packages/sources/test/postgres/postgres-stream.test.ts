import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Source, UpdateEvent } from "@zero-etl/core";
import { createPostgresSource, parseLsn } from "@zero-etl/sources/postgres";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { openStream, readSnapshot } from "./stream-harness.js";

let db: TestDatabase;
const sources: Source[] = [];
let counter = 0;

beforeAll(async () => {
  db = await createTestDatabase("pgsrc_stream");
});

afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await db?.drop();
});

/** A source over `tables` (in schema public) with its own slot and publication, already snapshotted. */
async function startSource(tables: string[]): Promise<{ source: Source; position: string; slot: string }> {
  counter++;
  const slot = `${db.name}_s${counter}`;
  const source = createPostgresSource({
    url: db.url,
    pipeline: `${db.name}_${counter}`,
    slot,
    publication: `pub_${counter}`,
    tables: tables.map((name) => ({ namespace: "public", name })),
  });
  sources.push(source);
  const session = await source.snapshot({});
  await readSnapshot(session.chunks);
  return { source, position: session.position, slot };
}

const rows = (events: ChangeEvent[]) => events.filter((e) => e.op !== "schema");

describe("postgres source: streaming", () => {
  it("unchanged TOAST columns go to `unchanged`, not `after`", async () => {
    await db.query("CREATE TABLE toasty (id int PRIMARY KEY, big text, small int)");
    // random text does not compress, so it is stored out of line
    await db.query("INSERT INTO toasty SELECT 1, string_agg(md5(g::text), '') , 1 FROM generate_series(1, 2000) g");
    const { source, position } = await startSource(["toasty"]);
    const stream = openStream(source, position);
    try {
      await db.query("UPDATE toasty SET small = 2 WHERE id = 1");
      const events = rows(await stream.until((e) => rows(e).length >= 1));
      const update = events[0] as UpdateEvent;
      expect(update.op).toBe("update");
      expect(update.unchanged).toEqual(["big"]);
      expect(update.after).toEqual({ id: 1, small: 2 });
      expect("big" in update.after).toBe(false);
      expect(update.key).toEqual({ id: 1 });
      expect(update.before).toBeUndefined();
    } finally {
      await stream.stop();
    }
  });

  it("primary-key updates carry the old key; deletes carry key (DEFAULT) or the full row (FULL); truncate", async () => {
    await db.query("CREATE TABLE keyed (id int PRIMARY KEY, v text)");
    await db.query("CREATE TABLE fulltab (id int PRIMARY KEY, v text)");
    await db.query("ALTER TABLE fulltab REPLICA IDENTITY FULL");
    await db.query("CREATE TABLE nokey (a int, b text)");
    await db.query("ALTER TABLE nokey REPLICA IDENTITY FULL");
    await db.query("INSERT INTO keyed VALUES (1, 'one'), (2, 'two')");
    await db.query("INSERT INTO fulltab VALUES (1, 'one')");
    await db.query("INSERT INTO nokey VALUES (1, 'x')");
    const { source, position } = await startSource(["keyed", "fulltab", "nokey"]);
    const stream = openStream(source, position);
    try {
      await db.query("UPDATE keyed SET id = 10 WHERE id = 1");
      await db.query("UPDATE keyed SET v = 'TWO' WHERE id = 2");
      await db.query("DELETE FROM keyed WHERE id = 10");
      await db.query("UPDATE fulltab SET v = 'uno' WHERE id = 1");
      await db.query("DELETE FROM fulltab WHERE id = 1");
      await db.query("DELETE FROM nokey WHERE a = 1");
      await db.query("TRUNCATE keyed, fulltab");
      const events = rows(await stream.until((e) => rows(e).length >= 8));
      expect(events.map((e) => `${e.op}:${e.table.name}`)).toEqual([
        "update:keyed",
        "update:keyed",
        "delete:keyed",
        "update:fulltab",
        "delete:fulltab",
        "delete:nokey",
        "truncate:keyed",
        "truncate:fulltab",
      ]);
      const [pkUpdate, plainUpdate, del, fullUpdate, fullDelete, nokeyDelete] = events;
      expect(pkUpdate).toMatchObject({ key: { id: 1 }, after: { id: 10, v: "one" } });
      expect((pkUpdate as UpdateEvent).before).toBeUndefined();
      expect(plainUpdate).toMatchObject({ key: { id: 2 }, after: { id: 2, v: "TWO" } });
      expect(del).toMatchObject({ op: "delete", key: { id: 10 } });
      expect(del && "before" in del).toBe(false);
      expect(fullUpdate).toMatchObject({ key: { id: 1 }, before: { id: 1, v: "one" }, after: { id: 1, v: "uno" } });
      expect(fullDelete).toMatchObject({ key: { id: 1 }, before: { id: 1, v: "uno" } });
      expect(nokeyDelete).toMatchObject({ key: { a: 1, b: "x" }, before: { a: 1, b: "x" } });
      for (const e of events) {
        expect(e.transactionId).toMatch(/^\d+$/);
        expect(Math.abs((e.commitTime ?? 0) - Date.now())).toBeLessThan(60_000);
        expect(() => parseLsn(e.position)).not.toThrow();
      }
    } finally {
      await stream.stop();
    }
  });

  it("add, drop and retype column mid-stream: a schema event with the new columns precedes the rows", async () => {
    await db.query("CREATE TABLE evolving (id int PRIMARY KEY, a int NOT NULL)");
    const { source, position } = await startSource(["evolving"]);
    const stream = openStream(source, position);
    try {
      await db.query("INSERT INTO evolving VALUES (1, 1)");
      // the stream has introspected the table once this row arrived
      await stream.until((e) => rows(e).length >= 1);
      await db.query("ALTER TABLE evolving ADD COLUMN b numeric(10,2)");
      await db.query("INSERT INTO evolving VALUES (2, 2, 2.50)");
      await db.query("ALTER TABLE evolving DROP COLUMN a");
      await db.query("INSERT INTO evolving VALUES (3, 3.25)");
      await db.query("ALTER TABLE evolving ALTER COLUMN b TYPE text");
      await db.query("INSERT INTO evolving VALUES (4, 'four')");
      const events = await stream.until((e) => rows(e).length >= 4);
      expect(events.map((e) => e.op)).toEqual(["insert", "schema", "insert", "schema", "insert", "schema", "insert"]);
      const schemas = events.filter((e) => e.op === "schema");
      const shapes = schemas.map((e) => e.op === "schema" && e.schema.columns.map((c) => `${c.name}:${c.type.kind}${c.nullable ? "?" : ""}`).join(","));
      expect(shapes).toEqual(["id:int,a:int,b:decimal?", "id:int,b:decimal?", "id:int,b:string?"]);
      expect(schemas.map((e) => e.op === "schema" && e.schema.version)).toEqual([2, 3, 4]);
      expect(schemas.every((e) => e.op === "schema" && e.schema.primaryKey.join() === "id")).toBe(true);
      const added = schemas[0];
      expect(added?.op === "schema" && added.schema.columns[2]?.type).toEqual({ kind: "decimal", precision: 10, scale: 2 });
      expect(added?.op === "schema" && added.previous?.version).toBe(1);
      expect(rows(events).map((e) => e.op === "insert" && e.after)).toEqual([
        { id: 1, a: 1 },
        { id: 2, a: 2, b: "2.50" },
        { id: 3, b: "3.25" },
        { id: 4, b: "four" },
      ]);
    } finally {
      await stream.stop();
    }
  });

  it("a transaction over two tables arrives in one batch, in order; a rolled-back one yields nothing", async () => {
    await db.query("CREATE TABLE t_left (id int PRIMARY KEY)");
    await db.query("CREATE TABLE t_right (id int PRIMARY KEY)");
    const { source, position } = await startSource(["t_left", "t_right"]);
    const stream = openStream(source, position);
    try {
      await db.query("BEGIN; INSERT INTO t_left VALUES (1); INSERT INTO t_right VALUES (1); INSERT INTO t_left VALUES (2); ROLLBACK");
      await db.query("BEGIN; INSERT INTO t_left VALUES (3); INSERT INTO t_right VALUES (4); UPDATE t_left SET id = 5 WHERE id = 3; COMMIT");
      const batch = await stream.untilBatch((b) => rows([...b.events]).length > 0);
      const changes = rows([...batch.events]);
      expect(changes.map((e) => `${e.op}:${e.table.name}:${JSON.stringify(e.op === "insert" || e.op === "update" ? e.after : null)}`)).toEqual([
        'insert:t_left:{"id":3}',
        'insert:t_right:{"id":4}',
        'update:t_left:{"id":5}',
      ]);
      expect(new Set(changes.map((e) => e.transactionId)).size).toBe(1);
      const positions = changes.map((e) => parseLsn(e.position));
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
      expect(parseLsn(batch.checkpoint ?? "0/0")).toBeGreaterThan(positions[2] ?? 0n);
      const all = stream.batches.flatMap((b) => rows([...b.events]));
      expect(all.some((e) => e.op === "insert" && (e.after.id === 1 || e.after.id === 2))).toBe(false);
    } finally {
      await stream.stop();
    }
  });

  it("a transaction larger than a batch is split; its partial batches repeat the previous checkpoint", async () => {
    await db.query("CREATE TABLE bulk (id int PRIMARY KEY)");
    const { source, position } = await startSource(["bulk"]);
    const stream = openStream(source, position);
    try {
      await db.query("INSERT INTO bulk VALUES (0)");
      const first = await stream.untilBatch((b) => b.events.some((e) => e.op === "insert"));
      await db.query("INSERT INTO bulk SELECT g FROM generate_series(1, 12000) g");
      await stream.until((e) => e.filter((x) => x.op === "insert").length >= 12001);
      const later = stream.batches.slice(stream.batches.indexOf(first) + 1).filter((b) => b.events.length > 0);
      expect(later.length).toBeGreaterThanOrEqual(3);
      const final = later.at(-1);
      for (const partial of later.slice(0, -1)) {
        expect(partial.events.length).toBeLessThanOrEqual(5_000);
        // the checkpoint before the transaction (an idle keepalive may have advanced it past `first`)
        const previous = stream.batches[stream.batches.indexOf(partial) - 1];
        expect(partial.checkpoint).toBe(previous?.checkpoint);
        expect(parseLsn(partial.checkpoint ?? "0/0")).toBeLessThan(parseLsn(final?.checkpoint ?? "0/0"));
      }
      expect(parseLsn(final?.checkpoint ?? "0/0")).toBeGreaterThan(parseLsn(first.checkpoint ?? "0/0"));
      const ids = later.flatMap((b) => b.events.flatMap((e) => (e.op === "insert" ? [e.after.id as number] : [])));
      expect(ids).toEqual(Array.from({ length: 12000 }, (_, i) => i + 1));
    } finally {
      await stream.stop();
    }
  });

  it("snapshot + concurrent writes: snapshot rows plus streamed changes, applied idempotently, equal the source", async () => {
    await db.query("CREATE TABLE handoff (id int PRIMARY KEY, v int)");
    await db.query("INSERT INTO handoff SELECT g, g FROM generate_series(1, 3000) g");
    counter++;
    const source = createPostgresSource({ url: db.url, pipeline: `${db.name}_h`, slot: `${db.name}_hand`, publication: "pub_hand", tables: [{ namespace: "public", name: "handoff" }], snapshotChunkRows: 500 });
    sources.push(source);
    const session = await source.snapshot({});
    const target = new Map<number, number | null>();
    let chunks = 0;
    const lastFlags: boolean[] = [];
    for await (const chunk of session.chunks) {
      // writes while the snapshot is being read
      if (chunks === 1) {
        await db.query("INSERT INTO handoff SELECT g, g FROM generate_series(3001, 3100) g");
        await db.query("UPDATE handoff SET v = -v WHERE id % 7 = 0");
        await db.query("DELETE FROM handoff WHERE id % 11 = 0");
      }
      chunks++;
      lastFlags.push(chunk.last);
      expect(chunk.rowsEstimated === undefined || chunk.rowsEstimated >= chunk.rowsRead).toBe(true);
      for (const row of chunk.rows) target.set(row.id as number, row.v as number);
    }
    expect(chunks).toBe(6);
    expect(lastFlags).toEqual([false, false, false, false, false, true]);
    expect(target.size).toBe(3000);
    await db.query("UPDATE handoff SET v = v + 1000000 WHERE id % 13 = 0");
    const stream = openStream(source, session.position);
    try {
      const expected = await db.query<{ id: number; v: number }>("SELECT id, v FROM handoff ORDER BY id");
      const marker = await db.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
      const until = parseLsn(marker.rows[0]?.lsn ?? "0/0");
      // every change up to the marker has arrived once a checkpoint reaches it
      await stream.untilBatch((b) => b.checkpoint !== undefined && parseLsn(b.checkpoint) >= until);
      for (const e of stream.batches.flatMap((b) => b.events)) {
        if (e.op === "insert" || e.op === "update") target.set(e.after.id as number, e.after.v as number);
        else if (e.op === "delete") target.delete(e.key.id as number);
      }
      expect([...target.entries()].sort((a, b) => a[0] - b[0])).toEqual(expected.rows.map((r) => [r.id, r.v]));
    } finally {
      await stream.stop();
    }
  });
});
