import { availableParallelism } from "node:os";
import type { ConnectionTimeouts, Logger, TableRef } from "@zero-etl/core";
import type { PartitionMode } from "./postgres-introspector.js";
import { ConfigError, defaultCopyParallelism, isOnThisHost, resolveConnectionTimeouts, silentLogger } from "@zero-etl/core";

/** Options of `createPostgresSource`. */
export interface PostgresSourceOptions {
  /** Connection URL, `postgres://user:password@host:port/database`. The password never appears in errors or logs. */
  readonly url: string;
  /** The pipeline's name; default slot and publication names derive from it (lowercased, other characters as `_`). */
  readonly pipeline: string;
  /** Publication to stream; default `zeroetl_<pipeline>`. Created by `snapshot()` (or preflight `fix`) when missing. */
  readonly publication?: string;
  /** Logical replication slot; default `zeroetl_<pipeline>`. Created by `snapshot()`. */
  readonly slot?: string;
  /** The tables to replicate, as a list or a predicate; default every table outside the system schemas (and `_zeroetl`). */
  readonly tables?: readonly TableRef[] | ((ref: TableRef) => boolean);
  /** A further filter on the selected tables (both must accept a table). */
  readonly include?: (ref: TableRef) => boolean;
  /** TLS options passed to `pg` as its `ssl` setting (node `tls.ConnectionOptions`). */
  readonly ssl?: boolean | Readonly<Record<string, unknown>>;
  /** Rows per snapshot chunk (keyset page size); default 10 000. */
  readonly snapshotChunkRows?: number;
  /** The initial snapshot's reads. */
  readonly snapshot?: {
    /**
     * Connections reading at once when a table is copied as binary COPY
     * streams (a PostgreSQL target): a big table is split into that many or
     * more CTID ranges. Default: `defaultCopyParallelism` of this machine's
     * cores (`os.availableParallelism()`, at most 8), halved when the source
     * server runs on this host (it shares the cores). The target is not
     * known here: the CLI counts it too when it is on this host; an
     * embedding application with a local target should do the same.
     */
    readonly parallelism?: number | undefined;
  };
  /** Connect, query and replication-keepalive timeouts; defaults in `DEFAULT_CONNECTION_TIMEOUTS` (10 s, 5 min, 60 s). */
  readonly timeouts?: Partial<ConnectionTimeouts>;
  /**
   * Follow DDL through the event-trigger capture (installed in the source
   * database when missing and the role may); default true. With false the
   * capture is neither installed nor read, and only column changes followed
   * by rows are seen (Relation messages).
   */
  readonly ddlCapture?: boolean;
  /**
   * Partitioned tables: `root` (default) replicates each as one table named
   * after its root (published with `publish_via_partition_root`); `leaves`
   * replicates each partition as a table of its own instead.
   */
  readonly partitions?: PartitionMode;
  /**
   * Tables whose streamed updates must carry every column: when an update
   * leaves an unchanged TOAST value out and the stream has no old row
   * (default replica identity), the source reads the value from the table by
   * key (see `createUnchangedFetcher`). The CLI sets it for tables with a row
   * filter, where such an update can bring a row into the target. Default none.
   */
  readonly fetchUnchangedFor?: (ref: TableRef) => boolean;
  /**
   * How long a resync's exact snapshot may wait for transactions already
   * running at the source (creating its temporary slot waits for them),
   * in seconds; default 30. After it the resync takes an ordinary exported
   * snapshot instead, which is not exact (the replay re-applies what the
   * re-read holds; logged as a warning).
   */
  readonly resyncSnapshotWaitSeconds?: number;
  /**
   * Whether the source gives the values of stored generated columns, for a
   * target that cannot compute them (the CLI sets it unless the sink declares
   * `generatedColumns: "computed"`, as the PostgreSQL sink does): the
   * snapshot reads them, and for streamed inserts and updates, whose values
   * pgoutput does not send, the source evaluates each column's generation
   * expression over the rows of a batch (see `createGeneratedColumnEvaluator`).
   * Default false: the columns carry no values and a PostgreSQL target
   * generates them itself.
   */
  readonly computeGenerated?: boolean;
  readonly logger?: Logger;
}

/** {@link PostgresSourceOptions} validated, defaults applied, frozen. */
export interface PostgresSourceConfig {
  readonly url: string;
  readonly pipeline: string;
  readonly publication: string;
  readonly slot: string;
  /** Whether a table is selected. */
  readonly includes: (ref: TableRef) => boolean;
  /** The explicit list when `tables` was a list (kept in order), else undefined. */
  readonly tableList: readonly TableRef[] | undefined;
  readonly ssl: boolean | Readonly<Record<string, unknown>> | undefined;
  readonly snapshotChunkRows: number;
  /** `snapshot.parallelism`, resolved. */
  readonly snapshotParallelism: number;
  readonly timeouts: ConnectionTimeouts;
  readonly ddlCapture: boolean;
  readonly partitions: PartitionMode;
  readonly fetchUnchangedFor: ((ref: TableRef) => boolean) | undefined;
  readonly resyncSnapshotWaitSeconds: number;
  readonly computeGenerated: boolean;
  readonly logger: Logger;
}

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Never selected: the catalogs, and `_zeroetl`, where the DDL capture keeps its state. */
const SYSTEM_SCHEMAS = new Set(["pg_catalog", "information_schema", "pg_toast", "_zeroetl"]);

/**
 * Validates the options once, at the edge. Throws `ConfigError` naming the
 * field (`source.url`, `source.slot`, ...) and what would be valid.
 */
export function resolvePostgresSourceConfig(options: PostgresSourceOptions): PostgresSourceConfig {
  if (typeof options !== "object" || options === null) throw new ConfigError("source", "an options object");
  if (typeof options.url !== "string" || !/^postgres(ql)?:\/\//.test(options.url)) throw new ConfigError("source.url", "a postgres:// URL");
  try {
    new URL(options.url);
  } catch {
    throw new ConfigError("source.url", "a postgres:// URL");
  }
  if (typeof options.pipeline !== "string" || options.pipeline.length === 0 || options.pipeline.length > 50) {
    throw new ConfigError("source.pipeline", "a pipeline name of 1 to 50 characters");
  }
  const derived = `zeroetl_${options.pipeline.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
  const slot = options.slot ?? derived;
  if (typeof slot !== "string" || !NAME.test(slot)) throw new ConfigError("source.slot", "a slot name of lowercase letters, digits and _ (at most 63)");
  const publication = options.publication ?? derived;
  if (typeof publication !== "string" || publication.length === 0 || publication.length > 63) {
    throw new ConfigError("source.publication", "a publication name of 1 to 63 characters");
  }
  const chunk = options.snapshotChunkRows ?? 10_000;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 10_000_000) throw new ConfigError("source.snapshotChunkRows", "an integer from 1 to 10000000");
  const parallelism = options.snapshot?.parallelism ?? defaultCopyParallelism({ cores: availableParallelism(), serversOnThisHost: isOnThisHost(options.url) ? 1 : 0 });
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) throw new ConfigError("source.snapshot.parallelism", "an integer from 1 to 64");
  const partitions = options.partitions ?? "root";
  if (options.fetchUnchangedFor !== undefined && typeof options.fetchUnchangedFor !== "function") throw new ConfigError("source.fetchUnchangedFor", "a predicate (ref) => boolean");
  if (options.computeGenerated !== undefined && typeof options.computeGenerated !== "boolean") throw new ConfigError("source.computeGenerated", "true or false");
  if (partitions !== "root" && partitions !== "leaves") throw new ConfigError("source.partitions", '"root" or "leaves"');
  let includes: (ref: TableRef) => boolean;
  let tableList: readonly TableRef[] | undefined;
  const tables = options.tables;
  if (tables === undefined) {
    includes = (ref) => !SYSTEM_SCHEMAS.has(ref.namespace) && !ref.namespace.startsWith("pg_temp") && !ref.namespace.startsWith("pg_toast");
  } else if (typeof tables === "function") {
    includes = (ref) => !SYSTEM_SCHEMAS.has(ref.namespace) && tables(ref);
  } else if (Array.isArray(tables)) {
    tables.forEach((t: TableRef, i: number) => {
      if (typeof t?.namespace !== "string" || typeof t.name !== "string" || t.name === "") {
        throw new ConfigError(`source.tables[${i}]`, "{ namespace, name } strings");
      }
    });
    tableList = Object.freeze(tables.map((t) => Object.freeze({ namespace: t.namespace, name: t.name })));
    const keys = new Set(tableList.map((t) => `${t.namespace}\u0000${t.name}`));
    includes = (ref) => keys.has(`${ref.namespace}\u0000${ref.name}`);
  } else {
    throw new ConfigError("source.tables", "a list of { namespace, name } or a predicate");
  }
  if (options.ddlCapture !== undefined && typeof options.ddlCapture !== "boolean") throw new ConfigError("source.ddlCapture", "true or false");
  const resyncWait = options.resyncSnapshotWaitSeconds ?? 30;
  if (typeof resyncWait !== "number" || !Number.isFinite(resyncWait) || resyncWait <= 0 || resyncWait > 86_400) {
    throw new ConfigError("source.resyncSnapshotWaitSeconds", "a number of seconds above 0, at most 86400");
  }
  const extra = options.include;
  if (extra !== undefined) {
    if (typeof extra !== "function") throw new ConfigError("source.include", "a predicate (ref) => boolean");
    const base = includes;
    includes = (ref) => base(ref) && extra(ref);
  }
  return Object.freeze({
    url: options.url,
    pipeline: options.pipeline,
    publication,
    slot,
    includes,
    tableList,
    ssl: options.ssl,
    snapshotChunkRows: chunk,
    snapshotParallelism: parallelism,
    timeouts: resolveConnectionTimeouts(validTimeouts(options.timeouts)),
    ddlCapture: options.ddlCapture ?? true,
    partitions,
    fetchUnchangedFor: options.fetchUnchangedFor,
    resyncSnapshotWaitSeconds: resyncWait,
    computeGenerated: options.computeGenerated ?? false,
    logger: options.logger ?? silentLogger,
  });
}

/** Checks each given timeout: milliseconds, positive (`queryMs` may be 0: no limit). */
function validTimeouts(timeouts: Partial<ConnectionTimeouts> | undefined): Partial<ConnectionTimeouts> | undefined {
  for (const [field, value] of Object.entries(timeouts ?? {})) {
    if (value !== undefined && (!Number.isInteger(value) || value < (field === "queryMs" ? 0 : 1))) {
      throw new ConfigError(`timeouts.${field}`, field === "queryMs" ? "an integer of at least 0 (0: no limit)" : "a positive integer (milliseconds)");
    }
  }
  return timeouts;
}
