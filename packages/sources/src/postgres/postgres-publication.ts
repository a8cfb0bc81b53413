import type pg from "pg";
import type { TableRef } from "@zero-etl/core";
import { quoteIdent } from "./postgres-connection.js";

/** What a publication covers, as far as the selected tables are concerned. */
export interface PublicationCoverage {
  readonly exists: boolean;
  /** True for `FOR ALL TABLES` publications. */
  readonly allTables: boolean;
  /** Selected tables the publication does not publish. */
  readonly missing: readonly TableRef[];
}

/** Reads whether `publication` exists and which of `tables` it lacks (parameterized). */
export async function inspectPublication(client: pg.ClientBase, publication: string, tables: readonly TableRef[]): Promise<PublicationCoverage> {
  const pub = await client.query<{ puballtables: boolean }>("SELECT puballtables FROM pg_publication WHERE pubname = $1", [publication]);
  const row = pub.rows[0];
  if (row === undefined) return { exists: false, allTables: false, missing: tables };
  if (row.puballtables) return { exists: true, allTables: true, missing: [] };
  const published = await client.query<{ schemaname: string; tablename: string }>(
    "SELECT schemaname::text AS schemaname, tablename::text AS tablename FROM pg_publication_tables WHERE pubname = $1",
    [publication],
  );
  const have = new Set(published.rows.map((r) => `${r.schemaname}\u0000${r.tablename}`));
  return { exists: true, allTables: false, missing: tables.filter((t) => !have.has(`${t.namespace}\u0000${t.name}`)) };
}

/** The DDL that makes `publication` cover `tables`: CREATE or ALTER ... ADD TABLE, identifiers quoted; undefined when nothing is missing. */
export function publicationDdl(publication: string, coverage: PublicationCoverage): string | undefined {
  const list = coverage.missing.map((t) => `${quoteIdent(t.namespace)}.${quoteIdent(t.name)}`).join(", ");
  if (!coverage.exists) return coverage.missing.length === 0 ? `CREATE PUBLICATION ${quoteIdent(publication)}` : `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list}`;
  if (coverage.missing.length === 0) return undefined;
  return `ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${list}`;
}

/** Creates `publication` or adds the missing tables to it. Returns the statement run, if any. */
export async function ensurePublication(client: pg.ClientBase, publication: string, tables: readonly TableRef[]): Promise<string | undefined> {
  const ddl = publicationDdl(publication, await inspectPublication(client, publication, tables));
  if (ddl !== undefined) await client.query(ddl);
  return ddl;
}
