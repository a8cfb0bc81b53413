import mysql from "mysql2/promise";
import { createTestMysqlDatabase } from "../../test-support/mysql.js";
import { createTestDatabase } from "../../test-support/postgres.js";
import { generateMysqlWorkload } from "./mysql-workload-generator.js";
import { listMysqlTables, readMysqlTable } from "./mysql-table-reader.js";
import type { PairDriver } from "./pair-driver.js";
import { compareTwins, openReadClient } from "./pg-to-pg-driver.js";
import { listPgTables, readPgRows } from "./pg-table-reader.js";
import { compareTableRows, type Difference } from "./table-comparator.js";

const DDL = /^\s*(ALTER|CREATE|DROP|RENAME|TRUNCATE)\b/im;

/** MariaDB -> PostgreSQL: a fresh MariaDB database and PostgreSQL target database per seed, target schema `dw`. */
export const mysqlToPgDriver: PairDriver = {
  pair: "mysql-pg",
  prefix: "mysql",
  generate: (rng, on, focus) => generateMysqlWorkload({ rng, on, focus }),
  async open(label, workload) {
    const sourceDb = await createTestMysqlDatabase(`fz_${label}`);
    const targetDb = await createTestDatabase(`fz_${label}_t`);
    const connect = async () => {
      const conn = await mysql.createConnection({ uri: sourceDb.url, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: "utf8mb4" });
      await conn.query(`SET time_zone = '+00:00'`);
      return conn;
    };
    const writer = await connect();
    return {
      config: { source: { type: "mysql", url: sourceDb.url }, target: { type: "postgres", url: targetDb.url, schema: "dw" } },
      env: {},
      async execute(step) {
        const [result] = await writer.query(step.text);
        const results = Array.isArray(result) ? result : [result];
        let events = 0;
        for (const r of results as { affectedRows?: number }[]) events += r?.affectedRows ?? 0;
        for (const statement of step.text.split(";\n")) if (DDL.test(statement)) events += 1;
        return events;
      },
      async compare() {
        const reader = await connect();
        const target = await openReadClient(targetDb.url);
        const diffs: Difference[] = [];
        try {
          const tables = await listMysqlTables(reader, sourceDb.name);
          for (const table of tables) {
            const rows = await readMysqlTable(reader, sourceDb.name, table);
            if (rows === undefined) continue;
            diffs.push(...compareTableRows(table, rows, await readPgRows(target, "dw", table, rows.columns)));
          }
          for (const table of await listPgTables(target, "dw")) if (!tables.includes(table)) diffs.push({ table, key: "*", column: "*", source: "no such table", target: "table" });
          diffs.push(...(await compareTwins(target, "dw", workload)));
          return diffs;
        } finally {
          await reader.end();
          await target.end();
        }
      },
      async close() {
        await writer.end();
        await sourceDb.drop();
        await targetDb.drop();
      },
    };
  },
};
