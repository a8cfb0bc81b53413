import pg from "pg";

/** URL of the test PostgreSQL server started by scripts/test-services.sh. */
export const TEST_PG_URL = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";

/** A fresh, uniquely named database for one test file, dropped by `drop()`. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs SQL on the test database (a pooled connection). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

/** Creates a database named `zetl_<prefix>_<random>` on the test server. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `zetl_${prefix}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(TEST_PG_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    name,
    url,
    query: (sql, values) => pool.query(sql, values),
    async drop() {
      // pool.end() can resolve before its sockets close; DROP ... WITH (FORCE) then ends them with 57P01, which is expected
      pool.on("error", () => undefined);
      await pool.end();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        // replication slots pin the database; drop the ones created in it first
        await client.query(
          `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`,
          [name],
        );
        // pg_terminate_backend only signals: a walsender still exiting keeps its slot active (55006) for a moment
        for (let attempt = 0; ; attempt++) {
          try {
            await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [name]);
            break;
          } catch (error) {
            if ((error as { code?: string }).code !== "55006" || attempt >= 100) throw error;
            await client.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name]);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Replaces the database of a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
