/**
 * MySQL/MariaDB binlog source throughput: one transaction of N rows, read
 * back from the server by (a) our source (own binlog client + pure decoder,
 * full decode to ChangeEvents), (b) `mariadb-binlog -v` (the server's own C
 * decoder, text to /dev/null) and (c) @vlasky/zongji (dateStrings), in
 * alternating rounds over the same binlog range.
 *
 * Run: node --conditions=zero-etl-source --import tsx bench/mysql-source.ts
 */
import { spawn } from "node:child_process";
import ZongJi from "@vlasky/zongji";
import type { ChangeEvent } from "../packages/core/src/index.js";
import { createMysqlSource } from "../packages/sources/src/mysql/index.js";
import mysql from "mysql2/promise";

const N = Number(process.env.ROWS ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const base = new URL(process.env.ZETL_MYSQL_URL ?? "mysql://root@127.0.0.1:53306/");
const dbName = `zetl_bench_${Math.random().toString(36).slice(2, 8)}`;

const admin = await mysql.createConnection({ uri: base.toString(), multipleStatements: true });
await admin.query(`CREATE DATABASE \`${dbName}\``);
await admin.query(`USE \`${dbName}\``);
await admin.query(`CREATE TABLE \`${dbName}\`.items (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), at DATETIME(6), qty BIGINT, flag TINYINT, note VARCHAR(100))`);
const status = async (): Promise<{ file: string; position: number }> => {
  const [rows] = await admin.query("SHOW MASTER STATUS");
  const row = (rows as { File: string; Position: number }[])[0];
  if (row === undefined) throw new Error("binlog is off");
  return { file: row.File, position: Number(row.Position) };
};
const start = await status();
const t0 = performance.now();
await admin.query(
  `INSERT INTO \`${dbName}\`.items SELECT seq, CONCAT('name-', seq), seq / 100, '2024-01-01 00:00:00.000001' + INTERVAL seq SECOND, seq * 1000, seq % 2, REPEAT('x', seq % 50) FROM seq_1_to_${N}`,
);
const end = await status();
console.log(`inserted ${N} rows in ${((performance.now() - t0) / 1000).toFixed(2)} s; binlog ${start.file}:${start.position} .. ${end.file}:${end.position} (${((end.position - start.position) / 1e6).toFixed(1)} MB)`);
if (start.file !== end.file) throw new Error("binlog rotated during the insert; rerun");

const dbUrl = new URL(base.toString());
dbUrl.pathname = `/${dbName}`;

async function runOurs(round: number): Promise<number> {
  const source = createMysqlSource({ url: dbUrl.toString(), pipeline: `bench-${dbName}`, serverId: 4_100_000 + round });
  const controller = new AbortController();
  let rows = 0;
  let check = 0;
  const began = performance.now();
  for await (const batch of source.stream(`${start.file}:${start.position}`, { signal: controller.signal })) {
    for (const e of batch.events as ChangeEvent[]) {
      if (e.op === "insert") {
        rows++;
        check += e.after.id as number;
      }
    }
    if (rows >= N) break;
  }
  const seconds = (performance.now() - began) / 1000;
  controller.abort();
  await source.close();
  if (check !== (N * (N + 1)) / 2) throw new Error("our source decoded wrong ids");
  return seconds;
}

function runMariadbBinlog(): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      "mariadb-binlog",
      [
        "--no-defaults",
        "-v",
        "--base64-output=DECODE-ROWS",
        "-R",
        `-h${base.hostname}`,
        `-P${base.port || "3306"}`,
        `-u${decodeURIComponent(base.username) || "root"}`,
        `--start-position=${start.position}`,
        `--stop-position=${end.position}`,
        start.file,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve((performance.now() - began) / 1000) : reject(new Error(`mariadb-binlog exited ${code}`))));
  });
}

function runZongji(round: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const zongji = new ZongJi({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username) || "root", password: decodeURIComponent(base.password), dateStrings: true });
    let rows = 0;
    let began = 0;
    zongji.on("ready", () => {
      began = performance.now();
    });
    zongji.on("binlog", (evt: { getTypeName(): string; rows?: unknown[] }) => {
      if (began === 0) began = performance.now();
      if (evt.getTypeName() === "WriteRows") rows += evt.rows?.length ?? 0;
      if (rows >= N) {
        const seconds = (performance.now() - began) / 1000;
        rows = -Infinity;
        zongji.stop();
        resolve(seconds);
      }
    });
    zongji.on("error", reject);
    zongji.start({ serverId: 4_200_000 + round, filename: start.file, position: start.position, includeEvents: ["tablemap", "writerows"], includeSchema: { [dbName]: true } });
  });
}

const results = { ours: [] as number[], mariadb: [] as number[], zongji: [] as number[] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    results.mariadb.push(await runMariadbBinlog());
    results.ours.push(await runOurs(round));
    results.zongji.push(await runZongji(round));
    console.log(`round ${round + 1}: ours ${results.ours[round]?.toFixed(3)} s, mariadb-binlog ${results.mariadb[round]?.toFixed(3)} s, zongji ${results.zongji[round]?.toFixed(3)} s`);
  }
} finally {
  await admin.query(`DROP DATABASE \`${dbName}\``);
  await admin.end();
}
const best = (xs: number[]): number => Math.min(...xs);
const rate = (s: number): number => N / s;
console.log(`ours (decode to ChangeEvents): ${Math.round(rate(best(results.ours))).toLocaleString("en")} rows/s (best of ${ROUNDS})`);
console.log(`mariadb-binlog -v (text to /dev/null): ${Math.round(rate(best(results.mariadb))).toLocaleString("en")} rows/s`);
console.log(`@vlasky/zongji (dateStrings): ${Math.round(rate(best(results.zongji))).toLocaleString("en")} rows/s`);
console.log(`ratio vs zongji: ${(best(results.zongji) / best(results.ours)).toFixed(2)}`);
console.log(`RATIO mysql-source ${(best(results.mariadb) / best(results.ours)).toFixed(3)}`);
process.exit(0);
