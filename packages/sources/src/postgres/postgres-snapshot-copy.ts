import type pg from "pg";
import type { SnapshotCopy, SnapshotCopyColumn, SnapshotCopyExport, SnapshotCopyPart } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import { CopyOutStream } from "./pg-copy-out-stream.js";
import { connectPostgres, quoteIdent } from "./postgres-connection.js";
import type { PostgresTableInfo } from "./postgres-introspector.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";
import { waitForSnapshotReaders } from "./postgres-snapshot-readers.js";

/** Blocks (8 KiB pages) of a table below which one stream reads it: a split would cost more than it saves. */
const MIN_BLOCKS_PER_PART = 1024;
/** Blocks one part reads at most (1 GiB of heap), so that a part stays well within a query time limit. */
const MAX_BLOCKS_PER_PART = 131_072;

/** What the snapshot learns about a table's storage, inside the exported snapshot. */
export interface CopyTableFacts {
  /** `pg_class.relkind`: `r` a plain table or a partition, `p` a partitioned root (no storage of its own). */
  readonly relkind: string;
  /** The table's size in blocks now (`pg_relation_size / block_size`). */
  readonly blocks: number;
  /**
   * A partitioned root's leaf partitions (their `regclass` text, quoted as
   * needed, and size in blocks), when every leaf is a plain table; read one
   * by one (`FROM ONLY`) in CTID ranges instead of the root as one stream.
   */
  readonly leaves?: readonly { readonly name: string; readonly blocks: number }[];
}

/** Facts the copy path needs about every table and column type, read once inside the snapshot. */
export interface CopyCatalog {
  readonly tables: ReadonlyMap<number, CopyTableFacts>;
  /** `format_type(oid, NULL)` by type OID. */
  readonly typeNames: ReadonlyMap<number, string>;
  /** Whether the server has TID range scans (PostgreSQL 14+), which make CTID ranges cheap. */
  readonly tidRangeScans: boolean;
}

/** Reads the {@link CopyCatalog} of `infos` on a connection inside the snapshot. */
export async function readCopyCatalog(client: pg.Client, infos: readonly PostgresTableInfo[]): Promise<CopyCatalog> {
  const tables = new Map<number, CopyTableFacts>();
  const typeNames = new Map<number, string>();
  if (infos.length === 0) return { tables, typeNames, tidRangeScans: false };
  const facts = await client.query<{ oid: number; relkind: string; blocks: string }>(
    `SELECT c.oid::int AS oid, c.relkind::text AS relkind,
            (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS blocks
       FROM pg_class c WHERE c.oid = ANY($1::oid[])`,
    [infos.map((t) => t.oid)],
  );
  const roots = facts.rows.filter((row) => row.relkind === "p").map((row) => row.oid);
  const leavesOf = new Map<number, { name: string; blocks: number }[]>();
  const unsplittable = new Set<number>();
  if (roots.length > 0) {
    const leaves = await client.query<{ root: number; name: string; relkind: string; blocks: string }>(
      `SELECT r.root::int AS root, t.relid::regclass::text AS name, c.relkind::text AS relkind,
              (pg_relation_size(t.relid) / current_setting('block_size')::int)::text AS blocks
         FROM unnest($1::oid[]) AS r(root), pg_partition_tree(r.root) t JOIN pg_class c ON c.oid = t.relid
        WHERE t.isleaf`,
      [roots],
    );
    for (const leaf of leaves.rows) {
      // a foreign or otherwise storage-less leaf has no CTIDs: such a root is read as one stream
      if (leaf.relkind !== "r") unsplittable.add(leaf.root);
      const list = leavesOf.get(leaf.root) ?? [];
      list.push({ name: leaf.name, blocks: Number(leaf.blocks) });
      leavesOf.set(leaf.root, list);
    }
  }
  for (const row of facts.rows) {
    const leaves = leavesOf.get(row.oid);
    const facts: CopyTableFacts = leaves === undefined || unsplittable.has(row.oid) ? { relkind: row.relkind, blocks: Number(row.blocks) } : { relkind: row.relkind, blocks: 0, leaves };
    tables.set(row.oid, facts);
  }
  const oids = [...new Set(infos.flatMap((t) => t.columns.map((c) => c.typeOid)))];
  const types = await client.query<{ oid: number; name: string }>("SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])", [oids]);
  for (const row of types.rows) typeNames.set(row.oid, row.name);
  const version = await client.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
  return { tables, typeNames, tidRangeScans: (version.rows[0]?.v ?? 0) >= 140000 };
}

/** The columns a table's COPY streams carry, in order; undefined when one of them has no known type name. */
export function copyColumnsOf(info: PostgresTableInfo, catalog: CopyCatalog): readonly SnapshotCopyColumn[] | undefined {
  const columns: SnapshotCopyColumn[] = [];
  for (const c of info.columns) {
    const typeName = catalog.typeNames.get(c.typeOid);
    if (typeName === undefined) return undefined;
    columns.push({ name: c.name, typeOid: c.typeOid, typeName });
  }
  return columns;
}

/**
 * Connections reading inside one exported snapshot, at most `size` at once,
 * opened when first needed; each runs a REPEATABLE READ transaction on the
 * snapshot. A connection left in the middle of a COPY is closed, not reused.
 */
export class SnapshotReaderPool {
  readonly #config: PostgresSourceConfig;
  readonly #snapshotName: string;
  /** The exported snapshot the connections read in. */
  get snapshotName(): string {
    return this.#snapshotName;
  }
  /** The source's settings the connections were opened with. */
  get config(): PostgresSourceConfig {
    return this.#config;
  }
  readonly size: number;
  readonly #idle: pg.Client[] = [];
  readonly #all = new Set<pg.Client>();
  readonly #waiting: (() => void)[] = [];
  #opening = 0;
  #closed = false;

  constructor(config: PostgresSourceConfig, snapshotName: string, size: number) {
    this.#config = config;
    this.#snapshotName = snapshotName;
    this.size = size;
  }

  /** A connection inside the snapshot; give it back with {@link release}. */
  async acquire(): Promise<pg.Client> {
    for (;;) {
      if (this.#closed) throw new ZeroEtlError("snapshot reader pool closed", { code: "aborted" });
      const idle = this.#idle.pop();
      if (idle !== undefined) return idle;
      if (this.#all.size + this.#opening < this.size) return this.#open();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** Returns a connection; a broken one (a COPY broken off, an error) is closed and replaced when next needed. */
  release(client: pg.Client, broken: boolean): void {
    if (broken || this.#closed) {
      this.#all.delete(client);
      void client.end().catch(() => {});
    } else {
      this.#idle.push(client);
    }
    this.#waiting.shift()?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake();
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((c) => c.end().catch(() => {})));
  }

  async #open(): Promise<pg.Client> {
    this.#opening++;
    try {
      const client = await connectPostgres(this.#config, { applicationName: "zero-etl snapshot" });
      try {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        await client.query(`SET TRANSACTION SNAPSHOT '${this.#snapshotName.replace(/'/g, "''")}'`);
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      this.#all.add(client);
      return client;
    } finally {
      this.#opening--;
    }
  }
}

/**
 * The CTID ranges `[from, to)` (in blocks; the last one open-ended, so that
 * blocks added after the size was read are covered too) a table of `blocks`
 * blocks is read in: one range below {@link MIN_BLOCKS_PER_PART} blocks,
 * otherwise at least `parallelism` ranges (twice as many when the table is
 * big enough, so that a slow range does not leave the other connections idle),
 * none over {@link MAX_BLOCKS_PER_PART}.
 */
export function planCtidRanges(blocks: number, parallelism: number): readonly { readonly from: number; readonly to: number | undefined }[] {
  if (blocks < MIN_BLOCKS_PER_PART || parallelism <= 1 && blocks <= MAX_BLOCKS_PER_PART) return [{ from: 0, to: undefined }];
  const wanted = Math.max(Math.min(parallelism * 2, Math.floor(blocks / MIN_BLOCKS_PER_PART)), Math.ceil(blocks / MAX_BLOCKS_PER_PART), 1);
  const step = Math.ceil(blocks / wanted);
  const ranges: { from: number; to: number | undefined }[] = [];
  for (let from = 0; from < blocks; from += step) ranges.push({ from, to: from + step < blocks ? from + step : undefined });
  return ranges;
}

/**
 * A table's snapshot as binary COPY streams: CTID ranges of a plain table
 * (with TID range scans); for a partitioned root (no CTIDs of its own) the
 * CTID ranges of each leaf partition read `FROM ONLY` the leaf; else one
 * stream (a root with a leaf that has no storage, an old server).
 */
export function copyOfTable(info: PostgresTableInfo, columns: readonly SnapshotCopyColumn[], catalog: CopyCatalog, pool: SnapshotReaderPool): SnapshotCopy {
  const table = info.schema.table;
  const from = `${quoteIdent(table.namespace)}.${quoteIdent(table.name)}`;
  const list = columns.map((c) => quoteIdent(c.name)).join(", ");
  const facts = catalog.tables.get(info.oid);
  const key = tableKey(table);
  const part = (relation: string, range: { from: number; to: number | undefined } | undefined): SnapshotCopyPart => {
    const where = range === undefined ? "" : ` WHERE ctid >= '(${range.from},0)'::tid${range.to === undefined ? "" : ` AND ctid < '(${range.to},0)'::tid`}`;
    const text = `COPY (SELECT ${list} FROM ${relation}${where}) TO STDOUT (FORMAT binary)`;
    return { read: (signal) => readPart(pool, text, key, signal) };
  };
  const rangesOf = (blocks: number): readonly ({ from: number; to: number | undefined } | undefined)[] => {
    const ranges = planCtidRanges(blocks, pool.size);
    return ranges.length === 1 ? [undefined] : ranges;
  };
  let parts: SnapshotCopyPart[];
  if (!catalog.tidRangeScans || facts === undefined) parts = [part(from, undefined)];
  else if (facts.leaves !== undefined) parts = facts.leaves.flatMap((leaf) => rangesOf(leaf.blocks).map((range) => part(`ONLY ${leaf.name}`, range)));
  else if (facts.relkind === "r") parts = rangesOf(facts.blocks).map((range) => part(from, range));
  else parts = [part(from, undefined)];
  // a partitioned root without partitions still has its (empty) stream, so the table's load is one like any other
  if (parts.length === 0) parts = [part(from, undefined)];
  if (catalog.tidRangeScans && facts !== undefined && facts.leaves === undefined && facts.relkind === "r") {
    // other processes may read CTID ranges of a plain table inside the same snapshot (the Kafka target's distributed snapshot)
    const { snapshotName, config } = pool;
    const exported: SnapshotCopyExport = {
      snapshot: snapshotName,
      relationOid: info.oid,
      blocks: facts.blocks,
      readersGone: (signal) => waitForSnapshotReaders(config, snapshotName, signal),
    };
    return { format: "postgresql-binary", columns, parts, parallelism: pool.size, exported };
  }
  return { format: "postgresql-binary", columns, parts, parallelism: pool.size };
}

async function* readPart(pool: SnapshotReaderPool, text: string, table: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const client = await pool.acquire();
  const stream = new CopyOutStream(client, text);
  let failed = false;
  try {
    for await (const block of stream) {
      if (signal?.aborted === true) throw new ZeroEtlError("snapshot aborted", { code: "aborted", table });
      yield block;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // an error inside the COPY aborted the snapshot transaction: that connection cannot read again
    pool.release(client, failed || stream.broken);
  }
}
