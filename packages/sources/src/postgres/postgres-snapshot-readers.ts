import type pg from "pg";
import { ZeroEtlError, snapshotReaderApplicationName } from "@zero-etl/core";
import { connectPostgres, type PostgresConnectionSettings } from "./postgres-connection.js";

const POLL_MS = 100;

/**
 * Resolves once no session named for reading a range of `snapshot`
 * (`snapshotReaderApplicationName`) is connected to the server any more,
 * polling `pg_stat_activity`. Readers of other roles are seen too when the
 * role may read their `application_name` (the same role, or
 * `pg_read_all_stats`).
 */
export async function waitForSnapshotReaders(config: PostgresConnectionSettings, snapshot: string, signal?: AbortSignal): Promise<void> {
  const name = snapshotReaderApplicationName(snapshot);
  let client: pg.Client | undefined;
  try {
    client = await connectPostgres(config, { applicationName: "zero-etl snapshot" });
    for (;;) {
      const found = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [name]);
      if ((found.rows[0]?.n ?? 0) === 0) return;
      if (signal?.aborted === true) throw new ZeroEtlError("aborted while waiting for the snapshot's range readers", { code: "aborted" });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await client?.end().catch(() => {});
  }
}
