import type { TableRef } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { createWildcardMatcher } from "./wildcard-matcher.js";

/** Options of {@link parseTableFilter}. */
export interface TableFilterOptions {
  /** Patterns of tables to replicate; absent or empty means every table. */
  readonly include?: readonly string[] | undefined;
  /** Patterns of tables to leave out; an exclude always wins over an include. */
  readonly exclude?: readonly string[] | undefined;
  /**
   * The source database, checked against the first part of three-part
   * PostgreSQL patterns (`db.schema.table`). When absent, that part is not checked.
   */
  readonly database?: string | undefined;
}

/** A table reference, optionally with the database that holds its namespace (PostgreSQL). */
export type FilterTableRef = TableRef & { readonly database?: string };

/** A compiled table filter. Immutable. */
export interface TableFilter {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /**
   * Per include pattern, the one namespace (schema; database for MySQL) it
   * can match, or undefined when its namespace part has wildcards. Tells
   * whether a selection spans several namespaces without connecting.
   */
  readonly includeNamespaces: readonly (string | undefined)[];
  /** True when the table is selected: it matches no exclude and (there is no include or it matches one). */
  matchesTable(ref: FilterTableRef): boolean;
}

/** Most patterns a filter accepts (include and exclude together), as AWS Zero-ETL does. */
export const MAX_FILTER_PATTERNS = 99;
/** Longest pattern, in characters. */
export const MAX_FILTER_PATTERN_LENGTH = 256;

type PartMatcher = (text: string) => boolean;
interface CompiledPattern {
  readonly database: PartMatcher | undefined;
  readonly namespace: PartMatcher;
  readonly table: PartMatcher;
  /** The namespace part when it matches exactly one name. */
  readonly literalNamespace: string | undefined;
}

/** A pattern part and, when it has no wildcard (or is quoted), the one name it matches. */
interface Part {
  readonly match: PartMatcher;
  readonly literal: string | undefined;
}

function globMatcher(glob: string): PartMatcher {
  return createWildcardMatcher(glob, "*", "?");
}

function splitPattern(pattern: string, path: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  for (;;) {
    if (pattern[i] === '"') {
      let literal = "";
      i++;
      for (;;) {
        if (i >= pattern.length) throw new ConfigError(path, "a closing double quote", JSON.stringify(pattern));
        if (pattern[i] === '"') {
          if (pattern[i + 1] === '"') {
            literal += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        literal += pattern[i];
        i++;
      }
      if (literal === "") throw new ConfigError(path, "a non-empty quoted identifier", JSON.stringify(pattern));
      parts.push({ match: (text) => text === literal, literal });
    } else {
      let end = pattern.indexOf(".", i);
      if (end < 0) end = pattern.length;
      const glob = pattern.slice(i, end);
      if (glob === "" || glob.includes('"')) throw new ConfigError(path, "db.table, schema.table or db.schema.table with non-empty parts", JSON.stringify(pattern));
      parts.push({ match: globMatcher(glob), literal: /[*?]/.test(glob) ? undefined : glob });
      i = end;
    }
    if (i === pattern.length) return parts;
    if (pattern[i] !== ".") throw new ConfigError(path, "'.' after a quoted identifier", JSON.stringify(pattern));
    i++;
  }
}

function compilePattern(pattern: string, path: string): CompiledPattern {
  if (typeof pattern !== "string" || pattern.length === 0) throw new ConfigError(path, "a non-empty pattern");
  if (pattern.length > MAX_FILTER_PATTERN_LENGTH) throw new ConfigError(path, `at most ${MAX_FILTER_PATTERN_LENGTH} characters`, `${pattern.length}`);
  const parts = splitPattern(pattern, path);
  const [first, second, third] = parts;
  if (parts.length === 2 && first !== undefined && second !== undefined) {
    return { database: undefined, namespace: first.match, table: second.match, literalNamespace: first.literal };
  }
  if (parts.length === 3 && first !== undefined && second !== undefined && third !== undefined) {
    return { database: first.match, namespace: second.match, table: third.match, literalNamespace: second.literal };
  }
  throw new ConfigError(path, "db.table, schema.table or db.schema.table", JSON.stringify(pattern));
}

/**
 * Parses AWS Zero-ETL style table filters: `db.table` (MySQL), `schema.table`
 * or `db.schema.table` (PostgreSQL), with `*` (any run of characters) and
 * `?` (one character) in unquoted parts, and double-quoted parts for names
 * holding dots or wildcard characters (`"a.b".orders`; `""` is a quote).
 * At most {@link MAX_FILTER_PATTERNS} patterns of at most
 * {@link MAX_FILTER_PATTERN_LENGTH} characters; a bad pattern throws a
 * {@link ConfigError} whose path names it (`filter.include[2]`).
 * Exclude wins over include; no include means every table.
 */
export function parseTableFilter(options: TableFilterOptions): TableFilter {
  const include = [...(options.include ?? [])];
  const exclude = [...(options.exclude ?? [])];
  if (include.length + exclude.length > MAX_FILTER_PATTERNS) {
    throw new ConfigError("filter", `at most ${MAX_FILTER_PATTERNS} include and exclude patterns`, `${include.length + exclude.length}`);
  }
  const included = include.map((p, i) => compilePattern(p, `filter.include[${i}]`));
  const excluded = exclude.map((p, i) => compilePattern(p, `filter.exclude[${i}]`));
  const database = options.database;
  const matches = (pattern: CompiledPattern, ref: FilterTableRef): boolean => {
    const db = ref.database ?? database;
    if (pattern.database !== undefined && db !== undefined && !pattern.database(db)) return false;
    return pattern.namespace(ref.namespace) && pattern.table(ref.name);
  };
  return Object.freeze({
    include: Object.freeze(include),
    exclude: Object.freeze(exclude),
    includeNamespaces: Object.freeze(included.map((p) => p.literalNamespace)),
    matchesTable(ref: FilterTableRef): boolean {
      for (const pattern of excluded) if (matches(pattern, ref)) return false;
      if (included.length === 0) return true;
      for (const pattern of included) if (matches(pattern, ref)) return true;
      return false;
    },
  });
}
