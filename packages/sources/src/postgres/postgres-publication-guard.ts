import type pg from "pg";
import type { TableDrop } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import { formatLsn } from "./lsn.js";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { introspectPostgres } from "./postgres-introspector.js";
import { inspectPublication, planPublication, publicationDdl, runPublicationDdl } from "./postgres-publication.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";

/** Options of {@link PublicationGuard}. */
export interface PublicationGuardOptions {
  readonly client: pg.ClientBase;
  readonly config: PostgresSourceConfig;
  readonly types: PgTypeCatalog;
  /** Keys (`tableKey`) of the tables published when the stream started. */
  readonly published: Iterable<string>;
  /** How often the catalog is read again; default 5 s. */
  readonly intervalMs?: number;
}

const NONE: readonly TableDrop[] = Object.freeze([]);

/**
 * Keeps the publication from breaking the application while the stream
 * runs. When a published table loses its usable replica identity (its
 * primary key dropped, `REPLICA IDENTITY NOTHING`, ...), every UPDATE and
 * DELETE of the application on it fails for as long as it stays published.
 * PostgreSQL writes nothing to the WAL for a statement it rejects, so the
 * stream cannot see it; the guard reads the catalog again at most every
 * `intervalMs` (between transactions; default 5 s), drops such tables from the
 * publication and reports them as dropped, so the runtime stops calling them
 * synced (they come back, snapshotted anew, once fixed). The application's
 * statements can fail during that interval: the one window left.
 */
export class PublicationGuard {
  readonly #options: PublicationGuardOptions;
  readonly #published: Set<string>;
  readonly #intervalMs: number;
  readonly #removed = new Set<string>();
  #last = Date.now();

  constructor(options: PublicationGuardOptions) {
    this.#options = options;
    this.#published = new Set(options.published);
    this.#intervalMs = options.intervalMs ?? 5_000;
  }

  /** Whether `key` was taken out of the publication by the guard (its changes must be ignored). */
  hasRemoved(key: string): boolean {
    return this.#removed.has(key);
  }

  /**
   * When due, re-plans the publication; tables that must no longer be
   * published leave it and come back as drops at `position` (the last
   * commit, so the batch they end holds only earlier changes). Cheap when
   * not due: no query, no allocation.
   */
  async check(position: bigint): Promise<readonly TableDrop[]> {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) return NONE;
    this.#last = now;
    const { client, config, types } = this.#options;
    const tables = await introspectPostgres(client, { includes: config.includes, types, partitions: config.partitions });
    const plan = planPublication(tables);
    const leaving = plan.skipped.filter((s) => this.#published.has(tableKey(s.info.schema.table)));
    if (leaving.length === 0) return NONE;
    const coverage = await inspectPublication(client, config.publication, { published: [], skipped: leaving }, config.partitions);
    // only the removals: adding tables mid-stream is the business of whoever snapshots them
    if (coverage.exists && coverage.harmful.length > 0) {
      await runPublicationDdl(client, publicationDdl(config.publication, { ...coverage, missing: [], viaRootWrong: false }));
    }
    const at = formatLsn(position);
    return leaving.map((s) => {
      const key = tableKey(s.info.schema.table);
      this.#published.delete(key);
      this.#removed.add(key);
      config.logger.warn(`table taken out of the publication and no longer replicated: ${s.message}`, { table: key, reason: s.reason });
      return { kind: "dropped", table: s.info.schema.table, position: at, reason: `left out of the publication: ${s.message}` };
    });
  }
}
