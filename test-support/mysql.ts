import mysql from "mysql2/promise";

/** URL of the test MariaDB server started by scripts/test-services.sh (root on loopback, no password). */
export const TEST_MYSQL_URL = process.env.ZETL_MYSQL_URL ?? "mysql://root@127.0.0.1:53306/";

/** A fresh, uniquely named MariaDB database for one test file. */
export interface TestMysqlDatabase {
  readonly name: string;
  readonly url: string;
  query(sql: string, values?: unknown[]): Promise<unknown>;
  drop(): Promise<void>;
}

/** Creates a database named `zetl_<prefix>_<random>` on the test server. */
export async function createTestMysqlDatabase(prefix: string): Promise<TestMysqlDatabase> {
  const name = `zetl_${prefix}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const pool = mysql.createPool({ uri: TEST_MYSQL_URL, connectionLimit: 4, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  await pool.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(TEST_MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async query(sql, values) {
      const conn = await pool.getConnection();
      try {
        await conn.query(`USE \`${name}\``);
        const [rows] = await conn.query(sql, values);
        return rows;
      } finally {
        conn.release();
      }
    },
    async drop() {
      await pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await pool.end();
    },
  };
}
