import type pg from "pg";
import type { IncrementalChunk, IncrementalSnapshotSource, ReadChunkOptions, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import { ZeroEtlError, isTransientError, tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import type { PgValueDecoder } from "./pg-value-decoder.js";
import { RAW_TEXT_TYPES, connectPostgres, connectionError, quoteIdent } from "./postgres-connection.js";
import { introspectPostgres, type PostgresColumnInfo } from "./postgres-introspector.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";
import { inspectPublication, planPublication, publicationDdl, runPublicationDdl } from "./postgres-publication.js";

/**
 * The prefix of the logical decoding messages that carry the runtime's
 * markers (watermarks, signals). The stream hands messages with it to the
 * runtime as `ChangeBatch.markers`.
 */
export const MARKER_MESSAGE_PREFIX = "zeroetl-watermark";

/** How one table is read in chunks: the columns in stream order and the key's place among them. */
interface ChunkPlan {
  /** Identifies the shape it was made for (the stream's schema): a schema change makes a new plan. */
  readonly shape: string;
  readonly select: string;
  readonly from: string;
  readonly order: string;
  readonly names: readonly string[];
  readonly decoders: readonly PgValueDecoder[];
  readonly key: readonly { readonly index: number; readonly cast: string }[];
  readonly rowsEstimated: number | undefined;
}

/**
 * The PostgreSQL side of incremental snapshots (`Source.incremental`).
 *
 * Markers are written with `pg_logical_emit_message(true, 'zeroetl-watermark',
 * content)` in a transaction of their own: transactional messages are decoded
 * at their transaction's commit, in commit order with every other
 * transaction, which is the order the stream delivers (the slot's publication
 * does not filter messages; the stream asks pgoutput for them with
 * `messages 'true'`, PostgreSQL 14+). Chunks are read by keyset pages over the
 * primary key (`WHERE (pk) > (cursor) ORDER BY pk LIMIT n`), one statement in
 * autocommit, so each sees everything committed before it started; values go
 * through the stream's decoders, in text form, as the initial snapshot's do.
 * The cursor is the last row's key columns in their text form, as JSON.
 *
 * One connection, opened on first use and again after a failure.
 */
export class PostgresIncrementalReader implements IncrementalSnapshotSource {
  readonly #config: PostgresSourceConfig;
  readonly #types: PgTypeCatalog;
  #client: pg.Client | undefined;
  readonly #plans = new Map<string, ChunkPlan>();
  /** Tables this reader saw in the publication (or put there) before reading their first chunk. */
  readonly #published = new Set<string>();
  #reading: ReadonlySet<string> = new Set();

  constructor(config: PostgresSourceConfig, types: PgTypeCatalog) {
    this.#config = config;
    this.#types = types;
  }

  async emitMarker(content: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.#use((client) => client.query("SELECT pg_logical_emit_message(true, $1, $2)", [MARKER_MESSAGE_PREFIX, content]));
  }

  async readChunk(options: ReadChunkOptions): Promise<IncrementalChunk> {
    options.signal?.throwIfAborted();
    const { schema, limit } = options;
    return this.#use(async (client) => {
      const plan = await this.#plan(client, schema);
      await this.#ensurePublished(client, schema.table);
      let after: unknown;
      if (options.after !== undefined) {
        after = JSON.parse(options.after);
        if (!Array.isArray(after) || after.length !== plan.key.length) {
          throw new ZeroEtlError(`incremental snapshot cursor of ${tableKey(schema.table)} does not fit its primary key (${schema.primaryKey.join(", ")})`, { code: "internal", table: tableKey(schema.table) });
        }
      }
      const text =
        after === undefined
          ? `SELECT ${plan.select} FROM ${plan.from} ORDER BY ${plan.order} LIMIT ${limit}`
          : `SELECT ${plan.select} FROM ${plan.from} WHERE (${plan.order}) > (${plan.key.map((k, i) => `$${i + 1}::${k.cast}`).join(", ")}) ORDER BY ${plan.order} LIMIT ${limit}`;
      const result = await client.query<(string | null)[]>({ text, rowMode: "array", types: RAW_TEXT_TYPES, ...(after === undefined ? {} : { values: after as unknown[] }) });
      const raw = result.rows;
      const rows: Row[] = new Array<Row>(raw.length);
      const { names, decoders } = plan;
      for (let r = 0; r < raw.length; r++) {
        const values = raw[r] as (string | null)[];
        const row: Record<string, Value> = {};
        for (let i = 0; i < names.length; i++) {
          const cell = values[i];
          row[names[i] as string] = cell === null || cell === undefined ? null : (decoders[i] as PgValueDecoder)(cell);
        }
        rows[r] = row;
      }
      const lastRaw = raw[raw.length - 1];
      const chunk: { rows: Row[]; last: boolean; cursor?: string } = { rows, last: raw.length < limit };
      if (lastRaw !== undefined) chunk.cursor = JSON.stringify(plan.key.map((k) => lastRaw[k.index]));
      return chunk;
    });
  }

  reading(tables: readonly TableRef[]): void {
    this.#reading = new Set(tables.map(tableKey));
  }

  /** Whether an incremental snapshot is reading the table now: the stream then completes its updates that lack unchanged TOAST values. */
  isReading(ref: TableRef): boolean {
    return this.#reading.size > 0 && this.#reading.has(tableKey(ref));
  }

  async estimateRows(schema: TableSchema, signal?: AbortSignal): Promise<number | undefined> {
    signal?.throwIfAborted();
    return this.#use(async (client) => (await this.#plan(client, schema)).rowsEstimated);
  }

  /** Closes the connection (the source closes). */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  /**
   * Puts the table into the publication before its first chunk is read,
   * when it is not there yet (a table newly selected: the stream adds it only
   * when it restarts, which may be after the chunks were read). A change
   * committed after the chunk's read but before the table joined the
   * publication would reach neither the chunk nor the stream: so the table
   * joins first, and everything committed after the read is streamed.
   */
  async #ensurePublished(client: pg.Client, table: TableRef): Promise<void> {
    const key = tableKey(table);
    if (this.#published.has(key)) return;
    const config = this.#config;
    const tables = await introspectPostgres(client, { includes: (ref) => ref.namespace === table.namespace && ref.name === table.name, types: this.#types, partitions: config.partitions });
    const plan = planPublication(tables);
    // a table that cannot be published is not selected by the source at all; nothing to add
    if (plan.published.length > 0) {
      const coverage = await inspectPublication(client, config.publication, plan, config.partitions);
      if (!coverage.exists) throw new ZeroEtlError(`publication ${config.publication} does not exist; run preflight with fix or create it`, { code: "source-failed" });
      const statements = publicationDdl(config.publication, { ...coverage, harmful: [], viaRootWrong: false });
      await runPublicationDdl(client, statements);
      if (statements.length > 0) config.logger.info("publication updated for an incremental snapshot", { publication: config.publication, table: key, statements });
    }
    this.#published.add(key);
  }

  async #plan(client: pg.Client, schema: TableSchema): Promise<ChunkPlan> {
    const key = tableKey(schema.table);
    const shape = `${schema.version}\u0000${schema.columns.map((c) => c.name).join("\u0000")}`;
    const known = this.#plans.get(key);
    if (known !== undefined && known.shape === shape) return known;
    const wanted = schema.table;
    const [info] = await introspectPostgres(client, {
      includes: (ref) => ref.namespace === wanted.namespace && ref.name === wanted.name,
      types: this.#types,
      partitions: this.#config.partitions,
    });
    if (info === undefined) throw new ZeroEtlError(`${key} not found at the source for its incremental snapshot`, { code: "source-failed", table: key });
    // stored generated columns too, for a target that cannot compute them (as the initial snapshot reads them)
    const read: readonly PostgresColumnInfo[] = this.#config.computeGenerated && info.generated.length > 0 ? [...info.columns, ...info.generated] : info.columns;
    const names = read.map((c) => c.name);
    const keyColumns = schema.primaryKey.map((name) => {
      const index = names.indexOf(name);
      const column = read[index];
      if (column === undefined) throw new ZeroEtlError(`primary-key column ${name} of ${key} not found`, { code: "internal", table: key });
      return { index, cast: column.sqlType, sql: quoteIdent(name) };
    });
    const plan: ChunkPlan = {
      shape,
      select: read.length === 0 ? "NULL" : read.map((c) => quoteIdent(c.name)).join(", "),
      from: `${quoteIdent(wanted.namespace)}.${quoteIdent(wanted.name)}`,
      order: keyColumns.map((k) => k.sql).join(", "),
      names,
      decoders: read.map((c) => c.decode),
      key: keyColumns.map(({ index, cast }) => ({ index, cast })),
      rowsEstimated: info.rowsEstimated,
    };
    this.#plans.set(key, plan);
    return plan;
  }

  async #use<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    this.#client ??= await connectPostgres(this.#config, { applicationName: "zero-etl incremental snapshot" });
    const client = this.#client;
    try {
      return await work(client);
    } catch (error) {
      // a new connection next time: this one may be broken
      this.#client = undefined;
      await client.end().catch(() => {});
      if (error instanceof ZeroEtlError) throw error;
      if (isTransientError(error)) throw connectionError(this.#config.url, error, "source", "use");
      throw new ZeroEtlError(`postgres source incremental snapshot query failed: ${(error as Error).message}`, { code: "source-failed", cause: error });
    }
  }
}
