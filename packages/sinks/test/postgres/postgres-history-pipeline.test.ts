import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createPostgresSource } from "../../../sources/src/postgres/index.js";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

// History mode fed by the real PostgreSQL source through runPipeline: the
// snapshot versions get the slot's consistent point, stream versions the
// LSNs and commit times of their changes, and an update that leaves a TOASTed
// column unchanged (pgoutput does not resend it) copies it from the version
// it closes.
describe("runPipeline PG -> PG in history mode", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("histpipe_src");
    target = await createTestDatabase("histpipe_dst");
    await source.query("CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, body text)");
    await source.query("ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL");
    // 20 kB of text that does not compress: stored out of line, unchanged TOAST on updates of other columns
    await source.query("INSERT INTO docs SELECT g, 'title ' || g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 640) i) FROM generate_series(1, 3) g");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  async function runOnce(pipeline: string) {
    const src = createPostgresSource({ url: source.url, pipeline, tables: [{ namespace: "public", name: "docs" }] });
    const sink = createPostgresSink({ url: target.url, history: { tables: ["public.docs"] } });
    try {
      return await runPipeline({ name: pipeline, source: src, sink, checkpoints: createMemoryCheckpointStore(), untilCaughtUp: true });
    } finally {
      await src.close();
      await sink.close();
    }
  }

  it("records snapshot and stream versions with positions, commit times and unchanged TOAST values", async () => {
    const pipeline = `histpipe_${source.name.slice(-6)}`;
    const first = await runOnce(pipeline);
    expect(first.snapshotted).toBe(true);
    const snapshotPosition = first.checkpoint.position;

    await source.query("UPDATE docs SET title = 'renamed' WHERE id = 1");
    await source.query("UPDATE docs SET id = 20, title = 'moved' WHERE id = 2");
    await source.query("DELETE FROM docs WHERE id = 3");
    const lsns = (await source.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn;
    expect(lsns).toBeDefined();
    const second = await runOnce(pipeline);
    expect(second.snapshotted).toBe(false);

    const rows = (
      await target.query(
        `SELECT id, title, md5(body) AS body, _zeroetl_valid_from AS vfrom, _zeroetl_valid_to AS vto, _zeroetl_valid_from_time AS tfrom, _zeroetl_valid_to_time AS tto, _zeroetl_is_current AS cur, _zeroetl_op AS op
           FROM public.docs ORDER BY id, _zeroetl_is_current, _zeroetl_op = 'snapshot' DESC`,
      )
    ).rows;
    const bodies = new Map((await source.query(`SELECT g AS id, md5((SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 640) i)) AS body FROM generate_series(1, 3) g`)).rows.map((r) => [r.id as number, r.body as string]));
    expect(rows.map((r) => [r.id, r.title, r.body === bodies.get(r.id > 3 ? 2 : r.id), r.op, r.cur])).toEqual([
      [1, "title 1", true, "snapshot", false],
      [1, "renamed", true, "update", true],
      [2, "title 2", true, "snapshot", false],
      [3, "title 3", true, "snapshot", false],
      [20, "moved", true, "update", true],
    ]);
    const snap = rows.filter((r) => r.op === "snapshot");
    expect(new Set(snap.map((r) => r.vfrom))).toEqual(new Set([snapshotPosition]));
    // stream versions: opened at the change's LSN (the same LSN closed the snapshot version), at its commit time
    const renamed = rows.find((r) => r.title === "renamed");
    expect(rows[0]?.vto).toBe(renamed?.vfrom);
    expect(rows[0]?.tto?.getTime()).toBe(renamed?.tfrom?.getTime());
    expect(Math.abs(Date.now() - (renamed?.tfrom as Date).getTime())).toBeLessThan(120_000);
    const moved = rows.find((r) => r.title === "moved");
    expect(rows[2]?.vto).toBe(moved?.vfrom);
    expect(rows[3]?.vto).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(new Set([renamed?.vfrom, moved?.vfrom, rows[3]?.vto]).size).toBe(3);
  });
});
