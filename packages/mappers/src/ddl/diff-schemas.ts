import jsonpatch from "fast-json-patch";
import type { ColumnSchema, TableSchema } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { isWidening } from "./is-widening.js";
import type { SchemaChange } from "./schema-change.js";

/** Options of {@link diffSchemas}. */
export interface DiffSchemasOptions {
  /** New column name -> old column name, for columns the source says it renamed. */
  readonly renamed?: Readonly<Record<string, string>> | undefined;
}

interface NormalisedColumn {
  readonly type: unknown;
  readonly nullable: boolean;
  readonly sourceType: string | null;
}

interface NormalisedSchema {
  readonly primaryKey: readonly string[];
  readonly order: readonly string[];
  readonly columns: Readonly<Record<string, NormalisedColumn>>;
}

function normalise(columns: readonly ColumnSchema[], primaryKey: readonly string[]): NormalisedSchema {
  const byName: Record<string, NormalisedColumn> = {};
  for (const column of columns) {
    // a JSON round trip drops undefined members, so `{ maxLength: undefined }` equals `{}`
    byName[column.name] = { type: JSON.parse(JSON.stringify(column.type)) as unknown, nullable: column.nullable, sourceType: column.sourceType ?? null };
  }
  return { primaryKey: [...primaryKey], order: columns.map((c) => c.name), columns: byName };
}

function unescapeSegment(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/**
 * The ordered {@link SchemaChange}s that turn `previous` into `next` (same
 * table). Both schemas are normalised into documents whose columns are keyed
 * by name, and diffed with JSON Patch (fast-json-patch); each patch path is
 * then read back as a column-level change. Renames are never guessed: only
 * `renamed` (new -> old, as {@link SchemaChangeEvent.renamed}) turns a drop
 * plus an add into a `rename-column`. Type changes are `widen-type` when
 * {@link isWidening} says so, `change-type` otherwise.
 */
export function diffSchemas(previous: TableSchema, next: TableSchema, options: DiffSchemasOptions = {}): readonly SchemaChange[] {
  const renamed = options.renamed ?? {};
  const oldNames = new Set(previous.columns.map((c) => c.name));
  const newNames = new Set(next.columns.map((c) => c.name));
  for (const [to, from] of Object.entries(renamed)) {
    if (!oldNames.has(from) || !newNames.has(to) || oldNames.has(to) || newNames.has(from)) {
      throw new ConfigError(`renamed.${to}`, `an old column of ${previous.table.name} that the new schema no longer has`, JSON.stringify(from));
    }
  }
  // rename old columns first, so the patch compares each renamed column with its old self
  const reverse = new Map(Object.entries(renamed).map(([to, from]) => [from, to]));
  const before = normalise(
    previous.columns.map((c) => (reverse.has(c.name) ? { ...c, name: reverse.get(c.name) ?? c.name } : c)),
    previous.primaryKey.map((name) => reverse.get(name) ?? name),
  );
  const after = normalise(next.columns, next.primaryKey);
  const patch = jsonpatch.compare(before, after);

  const added = new Set<string>();
  const dropped = new Set<string>();
  const typed = new Set<string>();
  const nullability = new Set<string>();
  const annotated = new Set<string>();
  let keyChanged = false;
  let orderChanged = false;
  for (const op of patch) {
    const [root, rawName, field] = op.path.split("/").slice(1);
    if (root === "primaryKey") keyChanged = true;
    else if (root === "order") orderChanged = true;
    else if (root === "columns" && rawName !== undefined) {
      const name = unescapeSegment(rawName);
      if (field === undefined) {
        if (op.op === "add") added.add(name);
        else if (op.op === "remove") dropped.add(name);
        else typed.add(name);
      } else if (field === "type") typed.add(name);
      else if (field === "nullable") nullability.add(name);
      else if (field === "sourceType") annotated.add(name);
    }
  }

  const changes: SchemaChange[] = [];
  for (const column of next.columns) {
    const from = renamed[column.name];
    if (from !== undefined) changes.push({ kind: "rename-column", from, to: column.name });
  }
  for (const column of next.columns) if (added.has(column.name)) changes.push({ kind: "add-column", column });
  // the key moves before nullability changes: a column cannot drop NOT NULL while it is in a primary key
  if (keyChanged) changes.push({ kind: "change-primary-key", from: previous.primaryKey, to: next.primaryKey });
  const oldColumn = (name: string): ColumnSchema | undefined => previous.columns.find((c) => c.name === (renamed[name] ?? name));
  for (const column of next.columns) {
    const old = oldColumn(column.name);
    if (old === undefined || added.has(column.name)) continue;
    if (typed.has(column.name)) {
      changes.push({ kind: isWidening(old.type, column.type) ? "widen-type" : "change-type", column: column.name, from: old.type, to: column.type });
    }
  }
  for (const column of next.columns) {
    const old = oldColumn(column.name);
    if (old !== undefined && !added.has(column.name) && (nullability.has(column.name) || (typed.has(column.name) && old.nullable !== column.nullable))) {
      changes.push({ kind: "set-nullable", column: column.name, nullable: column.nullable });
    }
  }
  for (const column of next.columns) {
    const old = oldColumn(column.name);
    if (old !== undefined && !added.has(column.name) && (annotated.has(column.name) || (typed.has(column.name) && old.sourceType !== column.sourceType))) {
      changes.push({ kind: "set-source-type", column: column.name, sourceType: column.sourceType });
    }
  }
  for (const column of previous.columns) if (dropped.has(column.name) && !reverse.has(column.name)) changes.push({ kind: "drop-column", column });
  if (orderChanged) {
    // appends and drops alone do not need a reorder; anything else does
    const survivors = previous.columns.map((c) => reverse.get(c.name) ?? c.name).filter((n) => newNames.has(n));
    const expected = [...survivors, ...next.columns.filter((c) => added.has(c.name)).map((c) => c.name)];
    if (expected.join("\u0000") !== next.columns.map((c) => c.name).join("\u0000")) changes.push({ kind: "reorder-columns", order: next.columns.map((c) => c.name) });
  }
  return Object.freeze(changes.map((c) => Object.freeze(c)));
}
