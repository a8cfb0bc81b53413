import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCheckpointStore, runPipeline } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createPostgresSource } from "../../../sources/src/postgres/index.js";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

// A pipeline that watches only an idle table, on a server where another
// table is busy: the slot's confirmed_flush_lsn must keep advancing through
// runPipeline (checkpoint -> acknowledge), or the busy table's WAL would pile
// up behind the slot until it is invalidated.
describe("runPipeline PG -> PG: an idle watched table next to a busy unwatched one", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("idle_src");
    target = await createTestDatabase("idle_dst");
    await source.query("CREATE TABLE quiet (id int PRIMARY KEY, v text)");
    await source.query("CREATE TABLE busy (id bigserial PRIMARY KEY, pad text)");
    await source.query("INSERT INTO quiet SELECT g, 'q' || g FROM generate_series(1, 5) g");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("keeps confirmed_flush_lsn advancing while only the unwatched table changes", async () => {
    const pipeline = `idle_${source.name.slice(-6)}`;
    const slot = `zeroetl_${pipeline}`;
    const controller = new AbortController();
    const src = createPostgresSource({ url: source.url, pipeline, tables: [{ namespace: "public", name: "quiet" }] });
    const sink = createPostgresSink({ url: target.url });
    const running = runPipeline({ name: pipeline, source: src, sink, checkpoints: createMemoryCheckpointStore(), signal: controller.signal });
    try {
      const deadline = Date.now() + 20_000;
      while ((await target.query("SELECT to_regclass('public._zeroetl_checkpoints') IS NOT NULL AS ok")).rows[0]?.ok !== true || (await target.query("SELECT count(*)::int AS n FROM public._zeroetl_checkpoints WHERE checkpoint->>'phase' = 'streaming'")).rows[0]?.n !== 1) {
        if (Date.now() > deadline) throw new Error("the snapshot did not finish");
        await sleep(100);
      }
      const before = (await source.query<{ lsn: string }>("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1", [slot])).rows[0]?.lsn;
      expect(before).toBeDefined();
      for (let i = 0; i < 30; i++) await source.query("INSERT INTO busy (pad) SELECT repeat('x', 200) FROM generate_series(1, 100)");
      const marker = (await source.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn ?? "";
      let advanced = false;
      while (!advanced && Date.now() < deadline + 20_000) {
        const row = (await source.query<{ ok: boolean }>("SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1", [slot, marker])).rows[0];
        advanced = row?.ok === true;
        if (!advanced) await sleep(200);
      }
      expect(advanced).toBe(true);
      // the target's checkpoint moved with it, and nothing of the busy table landed
      const stored = (await target.query<{ ok: boolean }>("SELECT (checkpoint->>'position')::pg_lsn >= $1::pg_lsn AS ok FROM public._zeroetl_checkpoints WHERE pipeline = $2", [marker, pipeline])).rows[0];
      expect(stored?.ok).toBe(true);
      expect((await target.query("SELECT to_regclass('public.busy') IS NULL AS none")).rows[0]?.none).toBe(true);
      expect((await target.query("SELECT count(*)::int AS n FROM public.quiet")).rows[0]?.n).toBe(5);
    } finally {
      controller.abort();
      await running.catch(() => undefined);
      await src.close();
      await sink.close();
    }
    const result = await running;
    expect(result.snapshotted).toBe(true);
  });
});
