import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { freePort } from "./throwaway-postgres.js";

const run = promisify(execFile);

/** A MariaDB server of one test file (ROW binlog), on its own port and data directory, that the test may stop and start. */
export interface ThrowawayMariadb {
  readonly port: number;
  /** `mysql://root@127.0.0.1:<port>/` */
  readonly url: string;
  /** Clean shutdown (`SHUTDOWN`), as an operator or a package upgrade does it. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Creates and starts a throwaway MariaDB; runs as the mysql OS user when the test runs as root. */
export async function startThrowawayMariadb(prefix: string): Promise<ThrowawayMariadb> {
  const dir = await mkdtemp(join(tmpdir(), `zetl-${prefix}-`));
  await chmod(dir, 0o777);
  const data = join(dir, "data");
  const port = await freePort();
  const root = process.getuid?.() === 0;
  await run("mariadb-install-db", [
    "--no-defaults",
    ...(root ? ["--user=mysql"] : []),
    `--datadir=${data}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  if (root) await run("chown", ["-R", "mysql:mysql", dir]);
  let child: ChildProcess | undefined;
  const url = `mysql://root@127.0.0.1:${port}/`;
  const server: ThrowawayMariadb = {
    port,
    url,
    async start() {
      const proc = spawn(
        "mariadbd",
        [
          "--no-defaults",
          ...(root ? ["--user=mysql"] : []),
          `--datadir=${data}`,
          `--socket=${join(dir, "sock")}`,
          `--pid-file=${join(dir, "pid")}`,
          `--log-error=${join(dir, "err.log")}`,
          "--bind-address=127.0.0.1",
          `--port=${port}`,
          "--skip-name-resolve",
          "--server-id=1",
          `--log-bin=${join(data, "binlog")}`,
          "--binlog-format=ROW",
          "--binlog-row-image=FULL",
          "--innodb-buffer-pool-size=16M",
          "--innodb-flush-log-at-trx-commit=2",
          "--sync-binlog=0",
        ],
        { stdio: "ignore" },
      );
      child = proc;
      for (let i = 0; i < 300; i++) {
        const conn = await mysql.createConnection({ uri: url }).catch(() => undefined);
        if (conn !== undefined) {
          await conn.end();
          return;
        }
        if (proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`mariadb did not start; see ${join(dir, "err.log")}`);
    },
    async stop() {
      const proc = child;
      if (proc === undefined) return;
      const exited = new Promise((r) => proc.once("exit", r));
      const conn = await mysql.createConnection({ uri: url });
      await conn.query("SHUTDOWN").catch(() => undefined);
      await conn.end().catch(() => undefined);
      await exited;
      child = undefined;
    },
    async destroy() {
      if (child !== undefined) {
        const proc = child;
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGKILL");
        await exited;
        child = undefined;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
