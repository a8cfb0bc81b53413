import type pg from "pg";
import type { TableRef } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import { quoteIdent } from "./postgres-connection.js";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { introspectPostgres, type PartitionMode, type PostgresTableInfo } from "./postgres-introspector.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";

/** Why a selected table is left out of the publication. */
export type SkipReason = "replica-identity" | "unlogged" | "temporary";

/** A selected table the publication must not contain, and why. */
export interface SkippedTable {
  readonly info: PostgresTableInfo;
  readonly reason: SkipReason;
  /** One sentence naming the table and what to do. */
  readonly message: string;
}

/** Which selected tables go into the publication, and which are left out. */
export interface PublicationPlan {
  /** Tables published with every operation: snapshotted, streamed, in the publication. */
  readonly published: readonly PostgresTableInfo[];
  readonly skipped: readonly SkippedTable[];
}

/**
 * Decides which selected tables the publication may contain. This is the one
 * place that answers "is this table published?": everything the source
 * snapshots, streams and adds to the publication comes from `published`.
 *
 * A table is left out when publishing it would harm the source or cannot
 * work: an UNLOGGED or temporary table (PostgreSQL refuses to publish it and
 * logs none of its changes), and a table (or a leaf partition) whose replica
 * identity cannot identify a row (`NOTHING`, or `DEFAULT` without a primary
 * key): once in a publication that publishes updates and deletes, the
 * application's own UPDATE and DELETE on it fail at the source ("cannot
 * update table ... because it does not have a replica identity"). The
 * replicator never causes that; the user sets the identity (`check --fix`
 * sets `REPLICA IDENTITY FULL`) and the next run picks the table up.
 */
export function planPublication(tables: readonly PostgresTableInfo[]): PublicationPlan {
  const published: PostgresTableInfo[] = [];
  const skipped: SkippedTable[] = [];
  for (const info of tables) {
    const key = tableKey(info.schema.table);
    if (info.persistence === "u") {
      skipped.push({ info, reason: "unlogged", message: `${key} is UNLOGGED: PostgreSQL cannot publish it (its changes are not logged); run ALTER TABLE ${sqlName(info.schema.table)} SET LOGGED to replicate it` });
    } else if (info.persistence === "t") {
      skipped.push({ info, reason: "temporary", message: `${key} is a temporary table: PostgreSQL cannot publish it` });
    } else if (info.identityProblems.length > 0) {
      const partitions = info.identityProblems.filter((p) => p.key !== key).map((p) => p.key);
      const which = partitions.length === 0 ? "" : ` (partitions ${partitions.join(", ")})`;
      skipped.push({
        info,
        reason: "replica-identity",
        message: `${key} has no usable replica identity${which}: publishing it would make the application's UPDATE and DELETE on it fail, so it is not replicated until fixed (check --fix sets REPLICA IDENTITY FULL)`,
      });
    } else {
      published.push(info);
    }
  }
  return { published, skipped };
}

/**
 * Introspects the selected tables (explicitly listed ones must exist) and
 * plans the publication: what the source snapshots and streams is
 * `published`. Runs on `client`'s current snapshot, so inside an exported
 * snapshot it sees the tables as of that snapshot.
 */
export async function readPublicationPlan(
  client: pg.ClientBase,
  config: PostgresSourceConfig,
  types: PgTypeCatalog,
  options: { readonly requireListed?: boolean } = {},
): Promise<PublicationPlan> {
  const required = options.requireListed === false ? [] : (config.tableList ?? []);
  const tables = await introspectPostgres(client, { includes: config.includes, required, types, partitions: config.partitions });
  return planPublication(tables);
}

/** What a publication covers, as far as the planned tables are concerned. */
export interface PublicationCoverage {
  readonly exists: boolean;
  /** True for `FOR ALL TABLES` publications. */
  readonly allTables: boolean;
  /** Planned tables the publication does not publish. */
  readonly missing: readonly TableRef[];
  /** Left-out tables the publication publishes anyway (e.g. added by an earlier version): they must leave it. */
  readonly harmful: readonly TableRef[];
  /** Whether `publish_via_partition_root` differs from what the partition mode needs. */
  readonly viaRootWrong: boolean;
  /** The partition mode the coverage was read for. */
  readonly partitions: PartitionMode;
}

/** Reads whether `publication` exists, which of the planned tables it lacks and which left-out tables it wrongly has (parameterized). */
export async function inspectPublication(client: pg.ClientBase, publication: string, plan: PublicationPlan, partitions: PartitionMode = "root"): Promise<PublicationCoverage> {
  const tables = plan.published.map((t) => t.schema.table);
  const pub = await client.query<{ puballtables: boolean; pubviaroot: boolean }>("SELECT puballtables, pubviaroot FROM pg_publication WHERE pubname = $1", [publication]);
  const row = pub.rows[0];
  if (row === undefined) return { exists: false, allTables: false, missing: tables, harmful: [], viaRootWrong: false, partitions };
  const viaRootWrong = row.pubviaroot !== (partitions === "root");
  if (row.puballtables) return { exists: true, allTables: true, missing: [], harmful: [], viaRootWrong, partitions };
  // pg_publication_rel lists the tables added by name (pg_publication_tables would list partitions, not roots)
  const published = await client.query<{ schemaname: string; tablename: string }>(
    `SELECT n.nspname::text AS schemaname, c.relname::text AS tablename
       FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
       JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = $1`,
    [publication],
  );
  const have = new Set(published.rows.map((r) => `${r.schemaname}\u0000${r.tablename}`));
  const has = (t: TableRef): boolean => have.has(`${t.namespace}\u0000${t.name}`);
  return {
    exists: true,
    allTables: false,
    missing: tables.filter((t) => !has(t)),
    harmful: plan.skipped.map((s) => s.info.schema.table).filter(has),
    viaRootWrong,
    partitions,
  };
}

/**
 * The statements that make `publication` cover exactly what the plan
 * publishes: CREATE (with `publish_via_partition_root` as the partition mode
 * needs), ADD TABLE for each missing table, DROP TABLE for each left-out table it
 * holds, SET for a wrong `publish_via_partition_root`. Identifiers quoted;
 * empty when nothing is to do.
 */
export function publicationDdl(publication: string, coverage: PublicationCoverage): string[] {
  const name = quoteIdent(publication);
  const viaRoot = `publish_via_partition_root = ${coverage.partitions === "root" ? "true" : "false"}`;
  const list = (tables: readonly TableRef[]): string => tables.map(sqlName).join(", ");
  if (!coverage.exists) {
    return [coverage.missing.length === 0 ? `CREATE PUBLICATION ${name} WITH (${viaRoot})` : `CREATE PUBLICATION ${name} FOR TABLE ${list(coverage.missing)} WITH (${viaRoot})`];
  }
  const statements: string[] = [];
  if (coverage.viaRootWrong) statements.push(`ALTER PUBLICATION ${name} SET (${viaRoot})`);
  // one table per statement: another connection of the source may have done one already (runPublicationDdl)
  for (const table of coverage.harmful) statements.push(`ALTER PUBLICATION ${name} DROP TABLE ${sqlName(table)}`);
  for (const table of coverage.missing) statements.push(`ALTER PUBLICATION ${name} ADD TABLE ${sqlName(table)}`);
  return statements;
}

/** What {@link ensurePublication} changed. */
export interface PublicationChange {
  readonly statements: readonly string[];
  /** Left-out tables that were in the publication and were taken out of it. */
  readonly removed: readonly TableRef[];
  /**
   * `publish_via_partition_root` was switched: the changes of partitioned
   * tables were published under other relations until now, so the selected
   * partitioned tables (root mode) or partitions (leaves mode) are stale and
   * must be read again.
   */
  readonly viaRootSwitched: boolean;
}

/** Options of {@link ensurePublication}. */
export interface EnsurePublicationOptions {
  readonly partitions?: PartitionMode;
  /**
   * Leave `publish_via_partition_root` as it is (a resync of some tables
   * must not switch it: the stream start does, and then re-reads every
   * table the switch concerns).
   */
  readonly keepViaRoot?: boolean;
}

/** Makes `publication` cover exactly what `plan` publishes. */
export async function ensurePublication(client: pg.ClientBase, publication: string, plan: PublicationPlan, options: EnsurePublicationOptions = {}): Promise<PublicationChange> {
  const read = await inspectPublication(client, publication, plan, options.partitions ?? "root");
  const coverage = options.keepViaRoot === true ? { ...read, viaRootWrong: false } : read;
  const statements = publicationDdl(publication, coverage);
  await runPublicationDdl(client, statements);
  return { statements, removed: coverage.harmful, viaRootSwitched: coverage.viaRootWrong };
}

/**
 * Runs statements from {@link publicationDdl} in order. Two connections of
 * one source may change the publication at once (the stream's start and an
 * incremental snapshot's first chunk both add a newly selected table), so
 * an `ALTER PUBLICATION … ADD TABLE` of a table another connection added
 * since the inspection (`42710`, already a member) or a `DROP TABLE` of one
 * it removed (`42704`) has nothing left to do: both are taken as done.
 */
export async function runPublicationDdl(client: pg.ClientBase, statements: readonly string[]): Promise<void> {
  for (const statement of statements) {
    try {
      await client.query(statement);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const done = statement.startsWith("ALTER PUBLICATION") && ((code === "42710" && statement.includes(" ADD TABLE ")) || (code === "42704" && statement.includes(" DROP TABLE ")));
      if (!done) throw error;
    }
  }
}

function sqlName(ref: TableRef): string {
  return `${quoteIdent(ref.namespace)}.${quoteIdent(ref.name)}`;
}

/**
 * With `root` partitions, pgoutput sends the Relation message of the leaf
 * partition along with its root's, but every row under the root's OID: the
 * leaf's Relation message must not make a table of its own. Returns a check,
 * cached per relation OID, that is true for such partition relations (always
 * false in `leaves` mode).
 */
export function createPartitionRelationCheck(client: pg.ClientBase, partitions: PartitionMode): (relationOid: number) => Promise<boolean> {
  const known = new Map<number, boolean>();
  return async (relationOid) => {
    if (partitions === "leaves") return false;
    const cached = known.get(relationOid);
    if (cached !== undefined) return cached;
    const result = await client.query<{ p: boolean }>("SELECT relispartition AS p FROM pg_class WHERE oid = $1", [relationOid]);
    const isPartition = result.rows[0]?.p === true;
    known.set(relationOid, isPartition);
    return isPartition;
  };
}
