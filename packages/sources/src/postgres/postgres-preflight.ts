import type pg from "pg";
import type { PreflightReport } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";

/** Options of {@link preflightPostgres}. */
export interface PostgresPreflightOptions {
  readonly config: PostgresSourceConfig;
  readonly types: PgTypeCatalog;
  readonly fix: boolean;
}

/** Checks the server and, with `fix`, repairs what is safe. */
export async function preflightPostgres(_client: pg.Client, _options: PostgresPreflightOptions): Promise<PreflightReport> {
  return { component: "postgres-source", checks: [] };
}
