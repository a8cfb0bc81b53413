import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const run = promisify(execFile);

/** A PostgreSQL 15 cluster of one test file, on its own port and state directory, that the test may stop and start. */
export interface ThrowawayPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server for good and removes its files. */
  destroy(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
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

/** Creates and starts a throwaway cluster with logical decoding on (fsync off: tests only). */
export async function startThrowawayPostgres(prefix: string): Promise<ThrowawayPostgres> {
  const dir = await mkdtemp(join(tmpdir(), `zetl-${prefix}-`));
  await chmod(dir, 0o777);
  const data = join(dir, "data");
  const port = await freePort();
  await asPostgres(`${PG_BIN}/initdb -D '${data}' -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null`);
  const settings = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    "wal_level = logical",
    "max_replication_slots = 8",
    "max_wal_senders = 8",
    "fsync = off",
    "full_page_writes = off",
    "shared_buffers = 16MB",
  ];
  await asPostgres(`printf '%s\\n' ${settings.map((s) => `"${s}"`).join(" ")} >> '${data}/postgresql.conf'`);
  let running = false;
  const server: ThrowawayPostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await asPostgres(`${PG_BIN}/pg_ctl -D '${data}' -l '${dir}/log' -w -t 60 start >/dev/null`);
      running = true;
    },
    async stop() {
      await asPostgres(`${PG_BIN}/pg_ctl -D '${data}' -m fast -w -t 60 stop >/dev/null`);
      running = false;
    },
    async destroy() {
      if (running) await asPostgres(`${PG_BIN}/pg_ctl -D '${data}' -m immediate -w stop >/dev/null`).catch(() => {});
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
