import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { ZeroEtlError, createMemoryCheckpointStore, runPipeline } from "@zero-etl/core";
import type { PipelineOptions } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createPostgresSource } from "../../../sources/src/postgres/index.js";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

// A throwaway PostgreSQL cluster whose slots lose their WAL quickly:
// 1 MB WAL segments, max_slot_wal_keep_size = 1MB, wal_keep_size = 0 and a
// small max_wal_size, so a checkpoint after a few MB of WAL invalidates a
// slot that nothing reads.
const PG_BIN = "/usr/lib/postgresql/15/bin";
const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Runs a command as the postgres OS user (the server refuses to run as root). */
async function asPostgres(command: string): Promise<void> {
  if (process.getuid?.() === 0) await run("su", ["postgres", "-s", "/bin/sh", "-c", command]);
  else await run("/bin/sh", ["-c", command]);
}

describe("PostgreSQL source: an invalidated (lost) slot", () => {
  let dir: string;
  let data: string;
  let port: number;
  let sourceUrl: string;
  let admin: pg.Client;
  let target: TestDatabase;
  let started = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "zetl-lost-slot-"));
    await chmod(dir, 0o777);
    data = join(dir, "data");
    port = await freePort();
    await asPostgres(`${PG_BIN}/initdb -D '${data}' -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync --wal-segsize=1 >/dev/null`);
    const settings = [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      "wal_level = logical",
      "max_replication_slots = 8",
      "max_wal_senders = 8",
      "max_slot_wal_keep_size = 1MB",
      "wal_keep_size = 0",
      "max_wal_size = 4MB",
      "min_wal_size = 2MB",
      "fsync = off",
      "full_page_writes = off",
    ];
    await asPostgres(`printf '%s\\n' ${settings.map((s) => `"${s}"`).join(" ")} >> '${data}/postgresql.conf'`);
    await asPostgres(`${PG_BIN}/pg_ctl -D '${data}' -l '${dir}/log' -w -t 60 start >/dev/null`);
    started = true;
    sourceUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    admin = new pg.Client({ connectionString: sourceUrl });
    await admin.connect();
    await admin.query("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)");
    await admin.query("CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)");
    await admin.query("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 200) g");
    target = await createTestDatabase("lostslot");
  });

  afterAll(async () => {
    await admin?.end();
    await target?.drop();
    if (started) await asPostgres(`${PG_BIN}/pg_ctl -D '${data}' -m immediate -w stop >/dev/null`).catch(() => {});
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const options = (extra: Partial<PipelineOptions> = {}): PipelineOptions => ({
    name: "lost",
    source: createPostgresSource({ url: sourceUrl, pipeline: "lost", tables: [{ namespace: "public", name: "items" }] }),
    sink: createPostgresSink({ url: target.url }),
    checkpoints: createMemoryCheckpointStore(),
    untilCaughtUp: true,
    ...extra,
  });

  async function runOnce(extra: Partial<PipelineOptions> = {}) {
    const o = options(extra);
    try {
      return await runPipeline(o);
    } finally {
      await o.source.close();
      await o.sink.close();
    }
  }

  it("reports the lost slot in preflight, fails with position-lost by default, and re-snapshots when configured", async () => {
    const first = await runOnce();
    expect(first.snapshotted).toBe(true);

    // changes the pipeline will never stream, then WAL until the checkpointer invalidates the slot
    await admin.query("UPDATE items SET v = v || '-changed' WHERE id % 3 = 0");
    await admin.query("DELETE FROM items WHERE id > 190");
    let status = "";
    for (let round = 0; round < 40 && status !== "lost"; round++) {
      await admin.query("INSERT INTO filler (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, 2000) g");
      await admin.query("SELECT pg_switch_wal()");
      await admin.query("CHECKPOINT");
      status = (await admin.query<{ s: string }>("SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = 'zeroetl_lost'")).rows[0]?.s ?? "missing";
    }
    expect(status).toBe("lost");

    const source = createPostgresSource({ url: sourceUrl, pipeline: "lost", tables: [{ namespace: "public", name: "items" }] });
    const report = await source.preflight({ fix: false });
    await source.close();
    const check = report.checks.find((c) => c.id === "postgres.slot_wal");
    expect(check).toMatchObject({ ok: false, severity: "error" });
    expect(check?.message).toMatch(/invalidated/);
    expect(check?.remedy).toMatch(/pg_drop_replication_slot\('zeroetl_lost'\).*snapshot/);

    const failure = await runOnce().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ZeroEtlError);
    expect(failure).toMatchObject({ code: "position-lost" });
    expect((failure as Error).message).toMatch(/zeroetl_lost was invalidated.*changes after the checkpoint are gone.*resnapshot/);

    const again = await runOnce({ onLostPosition: "resnapshot" });
    expect(again.snapshotted).toBe(true);
    const slot = await admin.query<{ s: string }>("SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = 'zeroetl_lost'");
    expect(slot.rows[0]?.s).not.toBe("lost");
    const expected = (await admin.query("SELECT id, v FROM items ORDER BY id")).rows;
    const actual = (await target.query("SELECT id, v FROM public.items ORDER BY id")).rows;
    expect(actual).toHaveLength(190);
    expect(actual).toEqual(expected);

    // and it streams from the new slot
    await admin.query("UPDATE items SET v = 'after' WHERE id = 1");
    const streamed = await runOnce();
    expect(streamed.snapshotted).toBe(false);
    expect((await target.query("SELECT v FROM public.items WHERE id = 1")).rows).toEqual([{ v: "after" }]);
  });
});
