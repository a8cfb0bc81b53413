import { ZeroEtlError } from "@zero-etl/core";
import { identifierBytes, quoteIdentifier, shortenIdentifier } from "@zero-etl/mappers";

/** Redshift's longest identifier, in bytes. */
export const REDSHIFT_MAX_IDENTIFIER_BYTES = 127;

/**
 * A name as Redshift stores it: Redshift folds identifiers to lower case,
 * quoted or not (unless `enable_case_sensitive_identifier` is on, which the
 * sink does not assume), and keeps at most 127 bytes; a longer name is
 * shortened with a stable hash suffix.
 */
export function foldRedshiftIdentifier(name: string): string {
  if (name.includes("\0")) throw new ZeroEtlError(`identifier ${JSON.stringify(name.slice(0, 40))} contains NUL`, { code: "schema-unsupported" });
  const folded = name.toLowerCase();
  return identifierBytes(folded) <= REDSHIFT_MAX_IDENTIFIER_BYTES ? folded : shortenIdentifier(folded, REDSHIFT_MAX_IDENTIFIER_BYTES);
}

/** A quoted identifier (the name must be folded already). */
export function quoteRedshift(name: string): string {
  return quoteIdentifier(name);
}

/** `"schema"."table"`. */
export function qualifiedRedshift(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}
