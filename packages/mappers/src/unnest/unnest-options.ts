import { ConfigError } from "@zero-etl/core";

/** How far nested values are flattened. */
export type UnnestMode = "none" | "top-level" | "all";

/** The AWS Zero-ETL spellings accepted besides ours. */
export type UnnestModeInput = UnnestMode | "NO_UNNEST" | "NOUNNEST" | "TOP_LEVEL" | "TOPLEVEL" | "FULL";

/** Options shared by {@link unnestDocument}, {@link inferSchema} and {@link createUnnestMapper}. */
export interface UnnestOptions {
  /** Default `none` (keep each JSON/struct column as one column). AWS spellings are accepted. */
  readonly mode?: UnnestModeInput | undefined;
  /** Columns to unnest. Default: every `json` and `struct` column. */
  readonly columns?: readonly string[] | undefined;
  /** Joins path segments into column and table names. Default `__`. */
  readonly separator?: string | undefined;
  /**
   * Object (and child-table) levels flattened below a column; anything deeper
   * stays one JSON column. Default: {@link DEFAULT_MAX_DEPTH} in `all`, 1 in `top-level`.
   */
  readonly maxDepth?: number | undefined;
  /** Lists as one JSON column (default) or as child tables (`all` mode only). */
  readonly lists?: "json" | "child-tables" | undefined;
  /** Longest identifier in UTF-8 bytes; the mapper takes it from `context.sink.maxIdentifierLength`. Default 63. */
  readonly maxIdentifierLength?: number | undefined;
  /**
   * Prefix flattened names with the source column's name (`doc__a`), the
   * default. `false` names them by path only (`a`), as AWS Zero-ETL does for
   * DynamoDB items; a name that collides with another column gets a hash suffix.
   */
  readonly prefix?: boolean | undefined;
}

/** {@link UnnestOptions} with every default applied. */
export interface ResolvedUnnestOptions {
  readonly mode: UnnestMode;
  readonly columns: readonly string[] | undefined;
  readonly separator: string;
  readonly maxDepth: number;
  readonly lists: "json" | "child-tables";
  readonly maxIdentifierLength: number;
  readonly prefix: boolean;
}

/** Nesting levels `all` flattens by default; deeper values stay JSON text (and the walker's recursion stays bounded). */
export const DEFAULT_MAX_DEPTH = 64;

const MODES: Readonly<Record<string, UnnestMode>> = {
  none: "none",
  no_unnest: "none",
  nounnest: "none",
  "top-level": "top-level",
  top_level: "top-level",
  toplevel: "top-level",
  all: "all",
  full: "all",
};

/** Maps any accepted spelling to an {@link UnnestMode}; throws a {@link ConfigError} otherwise. */
export function parseUnnestMode(mode: string | undefined, path = "unnest.mode"): UnnestMode {
  if (mode === undefined) return "none";
  const found = MODES[mode.toLowerCase()];
  if (found === undefined) throw new ConfigError(path, "one of none, top-level, all (or NO_UNNEST, TOP_LEVEL, FULL)", JSON.stringify(mode));
  return found;
}

/** Validates options and applies defaults. */
export function resolveUnnestOptions(options: UnnestOptions, path = "unnest"): ResolvedUnnestOptions {
  const mode = parseUnnestMode(options.mode, `${path}.mode`);
  const separator = options.separator ?? "__";
  if (separator.length === 0) throw new ConfigError(`${path}.separator`, "a non-empty string");
  const lists = options.lists ?? "json";
  if (lists !== "json" && lists !== "child-tables") throw new ConfigError(`${path}.lists`, '"json" or "child-tables"', String(lists));
  if (lists === "child-tables" && mode !== "all") throw new ConfigError(`${path}.lists`, '"json" unless mode is all');
  const maxDepth = options.maxDepth ?? (mode === "all" ? DEFAULT_MAX_DEPTH : mode === "top-level" ? 1 : 0);
  if (!(maxDepth >= 0)) throw new ConfigError(`${path}.maxDepth`, "a number >= 0", String(maxDepth));
  const maxIdentifierLength = options.maxIdentifierLength ?? 63;
  if (!Number.isInteger(maxIdentifierLength) || maxIdentifierLength < 16) {
    throw new ConfigError(`${path}.maxIdentifierLength`, "an integer >= 16", String(maxIdentifierLength));
  }
  return {
    mode,
    columns: options.columns,
    separator,
    maxDepth: mode === "top-level" ? Math.min(maxDepth, 1) : mode === "none" ? 0 : maxDepth,
    lists,
    maxIdentifierLength,
    prefix: options.prefix ?? true,
  };
}
