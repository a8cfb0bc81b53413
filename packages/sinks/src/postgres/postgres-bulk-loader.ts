import pg from "pg";
import type { SnapshotCopy, SnapshotCopyColumn } from "@zero-etl/core";
import type { PgTableName } from "./postgres-ddl-compiler.js";
import { CopyInStream } from "./postgres-copy-in-stream.js";
import { connectSinkClient } from "./postgres-session.js";
import type { PostgresSinkConfig } from "./postgres-sink-config.js";
import type { TargetTable } from "./postgres-table-syncer.js";

/** Type OIDs below this are PostgreSQL's built-in types: the same type, and binary form, on every server. */
const FIRST_USER_OID = 16384;

/**
 * Whether a table's binary COPY streams can be loaded as they are into
 * `target`: every source column has a written target column of the same
 * built-in type (type modifiers aside: the target's receive function checks
 * them). A user-defined type (enum, domain, composite) never passes, since
 * its binary form may name OIDs of the source database.
 */
export function acceptsBinaryCopy(target: TargetTable, columns: readonly SnapshotCopyColumn[]): boolean {
  const written = new Set(target.columns);
  for (const column of columns) {
    if (column.typeOid >= FIRST_USER_OID || !written.has(column.name)) return false;
    if (target.baseTypes.get(column.name) !== column.typeName) return false;
  }
  return columns.length > 0;
}

/** Options of {@link loadBinaryCopy}. */
export interface BinaryCopyLoad {
  readonly config: PostgresSinkConfig;
  readonly table: PgTableName;
  readonly copy: SnapshotCopy;
  readonly progress?: (rows: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Loads a table's binary COPY streams into its (empty) target table:
 * `copy.parallelism` connections of its own, each taking the next part and
 * passing its bytes to `COPY … FROM STDIN (FORMAT binary)` unchanged, one
 * committed statement per part. Commits run with `synchronous_commit = off`:
 * the snapshot's last checkpoint commits synchronously later, which flushes
 * the WAL of every earlier commit too. The first failure stops every part
 * (a part not finished rolls back) and is thrown as it came, so a failure of
 * the source's read stays one.
 */
export async function loadBinaryCopy(load: BinaryCopyLoad): Promise<number> {
  const { config, table, copy } = load;
  const target = `${quote(table.schema)}.${quote(table.table)}`;
  const text = `COPY ${target} (${copy.columns.map((c) => quote(c.name)).join(", ")}) FROM STDIN (FORMAT binary)`;
  let next = 0;
  let rows = 0;
  let failure: { error: unknown } | undefined;
  const clients: pg.Client[] = [];
  const worker = async (): Promise<void> => {
    const client = await connect(config);
    clients.push(client);
    await client.query("SET synchronous_commit = off");
    while (failure === undefined && next < copy.parts.length) {
      const part = copy.parts[next++];
      if (part === undefined) break;
      const sink = new CopyInStream(client, text);
      await sink.start();
      try {
        for await (const block of part.read(load.signal)) {
          if (failure !== undefined) break;
          await sink.write(block);
        }
      } catch (error) {
        await sink.fail("source read failed");
        throw error;
      }
      if (failure !== undefined) {
        await sink.fail("another part failed");
        return;
      }
      rows += await sink.end();
      load.progress?.(rows);
    }
  };
  const workers = Math.max(1, Math.min(copy.parallelism, copy.parts.length));
  try {
    await Promise.all(
      Array.from({ length: workers }, () =>
        worker().catch((error: unknown) => {
          failure ??= { error };
        }),
      ),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
  if (failure !== undefined) throw failure.error;
  return rows;
}

function connect(config: PostgresSinkConfig): Promise<pg.Client> {
  return connectSinkClient(config, "zero-etl-sink bulk load");
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
