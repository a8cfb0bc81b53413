import type { ColumnSchema, LogicalType, Row, StructField, TableRef, TableSchema, Value } from "@zero-etl/core";
import { ZeroEtlError, freezeSchema, tableKey } from "@zero-etl/core";
import { variantColumnName } from "../ddl/classify-changes.js";
import { IdentifierRegistry } from "./identifier-shortener.js";
import { stableHash } from "./stable-hasher.js";
import { writeJsonValue } from "./json-value-writer.js";
import { jsonNumberToDecimal } from "./lossless-json-parser.js";
import { LIST_INDEX_COLUMN, PARENT_ID_COLUMN, ROW_ID_COLUMN, VALUE_COLUMN, childRowId, rootRowId } from "./child-row-id.js";
import type { ResolvedUnnestOptions } from "./unnest-options.js";

/** The inferred type of a flattened column; widens bool/int -> decimal -> string, anything mixed with a structure -> json. */
export type LeafKind = "bool" | "int" | "decimal" | "string" | "json";

const LEAF_TYPES: Readonly<Record<LeafKind, LogicalType>> = Object.freeze({
  bool: Object.freeze({ kind: "bool" }),
  int: Object.freeze({ kind: "int", bits: 64, signed: true }),
  decimal: Object.freeze({ kind: "decimal" }),
  string: Object.freeze({ kind: "string" }),
  json: Object.freeze({ kind: "json" }),
}) as Readonly<Record<LeafKind, LogicalType>>;

const INT64_MAX = "9223372036854775807";
const INT64_MIN_ABS = "9223372036854775808";
const PARENT_TYPE: LogicalType = Object.freeze({ kind: "string" });
const INDEX_TYPE: LogicalType = Object.freeze({ kind: "int", bits: 32, signed: true });

/** The leaf kind a target column of this type holds, or undefined for a type unnesting never infers. */
export function leafKindOf(type: LogicalType): LeafKind | undefined {
  switch (type.kind) {
    case "bool":
    case "string":
    case "json":
    case "decimal":
      return type.kind;
    case "int":
      return "int";
    default:
      return undefined;
  }
}

/**
 * The column name of a path: its segments joined with `separator`, unless
 * splitting that name at the separator would give other segments (a key
 * holding the separator, like `a__b`, would read as the path `a`, `b`); such
 * a path gets `_` + 8 hex digits of a stable hash of its segments. Splitting
 * gives back at most one segment list, so two paths never share a name, and
 * the name depends on the path alone, never on the order paths were seen.
 */
export function pathColumnName(segments: readonly string[], separator: string): string {
  const joined = segments.join(separator);
  const parts = joined.split(separator);
  let plain = parts.length === segments.length;
  for (let i = 0; plain && i < parts.length; i++) if (parts[i] !== segments[i]) plain = false;
  return plain ? joined : `${joined}_${stableHash(JSON.stringify(segments)).slice(0, 8)}`;
}

const VARIANT_TAGS = new Set(["bool", "int64", "decimal", "string", "json"]);

/** Widens two leaf kinds to one that holds both. */
export function widenLeafKind(a: LeafKind, b: LeafKind): LeafKind {
  if (a === b) return a;
  if (a === "json" || b === "json") return "json";
  if ((a === "int" && b === "decimal") || (a === "decimal" && b === "int")) return "decimal";
  return "string";
}

/** One path inside an unnested document. Internal to the unnester. */
export class PathNode {
  readonly segments: readonly string[];
  /** The key as it appears between quotes in JSON text, when it needs no escaping. */
  readonly rawKey: string | undefined;
  /** Object levels below the unnested column. */
  readonly depth: number;
  column: string | undefined = undefined;
  kind: LeafKind | undefined = undefined;
  declared: LogicalType | undefined = undefined;
  declaredElement: LogicalType | undefined = undefined;
  children: Map<string, PathNode> | undefined = undefined;
  order: PathNode[] = [];
  child: FlatTable | undefined = undefined;
  /** The column name of a path with no segments (an unnested column named by path only); default `value`. */
  ownName: string | undefined = undefined;
  /** True once a schema listing this column was handed out (so the target may have it). */
  published = false;
  /** The path's own column name; `column` differs from it once values moved to a variant column. */
  base: string | undefined = undefined;
  /** Whether the path looked for a target column to claim (once: the target's columns are learnt before rows). */
  claimChecked = false;

  constructor(segments: readonly string[], depth: number) {
    this.segments = segments;
    this.depth = depth;
    const key = segments[segments.length - 1];
    this.rawKey = key !== undefined && JSON.stringify(key).length === key.length + 2 ? key : undefined;
  }

  /** The child node for `key`, created on first sight. */
  childFor(key: string): PathNode {
    if (this.children === undefined) this.children = new Map();
    let node = this.children.get(key);
    if (node === undefined) {
      node = new PathNode([...this.segments, key], this.depth + 1);
      this.children.set(key, node);
      this.order.push(node);
    }
    return node;
  }

  /** The column's logical type. */
  get type(): LogicalType {
    return this.declared ?? LEAF_TYPES[this.kind ?? "json"];
  }
}

/** One target table: the root table or a child table of a list. Internal to the unnester. */
export class FlatTable {
  readonly fullName: string;
  readonly ref: TableRef;
  readonly parent: FlatTable | undefined;
  /** The unnested source column this table's data comes from (`""` for the root table). */
  readonly column: string;
  /** Element root of a child table (segments `[]`: a scalar element lands in `value`). */
  readonly root: PathNode;
  readonly fixed: ColumnSchema[];
  readonly primaryKey: readonly string[];
  readonly flat: PathNode[] = [];
  readonly ids: IdentifierRegistry;
  version: number;
  dirty = true;
  rowsRead = 0;
  #schema: TableSchema | undefined;

  constructor(init: { fullName: string; ref: TableRef; parent: FlatTable | undefined; column: string; root: PathNode; fixed: ColumnSchema[]; primaryKey: readonly string[]; version: number; maxIdentifierLength: number }) {
    this.fullName = init.fullName;
    this.ref = init.ref;
    this.parent = init.parent;
    this.column = init.column;
    this.root = init.root;
    this.fixed = init.fixed;
    this.primaryKey = init.primaryKey;
    this.version = init.version;
    this.ids = new IdentifierRegistry(init.maxIdentifierLength);
    for (const column of init.fixed) this.ids.reserve(column.name);
  }

  /** The current schema; `build` orders the columns. Each change since the last call bumps the version once. */
  schema(build: (table: FlatTable) => ColumnSchema[]): TableSchema {
    if (this.#schema === undefined || this.dirty) {
      if (this.#schema !== undefined) this.version++;
      this.#schema = freezeSchema({ table: this.ref, columns: build(this), primaryKey: this.primaryKey, version: this.version });
      this.dirty = false;
    }
    return this.#schema;
  }

  /** The last schema built, if any. */
  get lastSchema(): TableSchema | undefined {
    return this.#schema;
  }
}

/** A source column being unnested. */
interface UnnestedColumn {
  readonly name: string;
  /** True for a `json` column (values are JSON text), false for a struct column (values are objects). */
  readonly json: boolean;
  readonly node: PathNode;
  /** Flattened columns owned by this source column, in creation order. */
  readonly nodes: PathNode[];
}

/** A child row waiting to be emitted, with its table. */
export interface PendingChildRow {
  readonly table: FlatTable;
  readonly row: Record<string, Value>;
}

function isUnnestable(type: LogicalType): boolean {
  return isJsonText(type) || type.kind === "struct";
}

/** A column whose values are JSON text: `json`, and `map` (hstore), whose value is the JSON text of an object. */
function isJsonText(type: LogicalType): boolean {
  return type.kind === "json" || type.kind === "map";
}

/**
 * The stateful core of unnesting for one source table: it walks JSON text
 * (without building an intermediate document) or struct values, creates a
 * column the first time a path is seen, widens column types, and grows child
 * tables. Callers read {@link TableUnnester.changedTables} after each row to
 * learn which target schemas moved.
 */
export class TableUnnester {
  readonly source: TableSchema;
  readonly options: ResolvedUnnestOptions;
  readonly root: FlatTable;
  readonly tables: FlatTable[] = [];
  readonly unnested: UnnestedColumn[] = [];
  /**
   * Counts type widenings. Values flattened before a widening keep the old
   * representation, so a caller that sees this move while flattening one
   * event flattens that event again.
   */
  widenings = 0;
  readonly #passthrough: string[] = [];
  readonly #keyColumns: ColumnSchema[];
  readonly #tableIds: IdentifierRegistry;
  readonly #childTables: boolean;
  readonly #maxDepth: number;
  /**
   * Target columns this mapper did not derive in this process (it learnt them
   * from the target after a restart, or it moved a path's values to a variant
   * column): rows set them to null until a path claims them.
   */
  readonly #orphans: Map<string, PathNode>;
  /** Whether the target's columns were read into {@link #orphans}. */
  seeded = false;
  /** Whether a type change of a column the target has goes to a variant column (the target cannot alter it). */
  variants = false;
  /**
   * Whether scalars of different JSON types at one path (a boolean and a
   * string, a number and binary as base64) widen to `json` instead of
   * `string`, so that each value keeps its type (`false` stays a boolean,
   * never the text "false", which a string could also be). Set where the
   * target alters a column to JSON in place (PostgreSQL `jsonb`).
   */
  mixedScalarsAsJson = false;
  /** The leaf kind the target holds in a root column, when the target can tell. */
  targetKind: ((column: string) => LeafKind | undefined) | undefined = undefined;
  // walk state, reused across rows so that a row allocates only its outputs
  #text = "";
  #pos = 0;
  // position of the next backslash in #text (-1: none), so strings need no second scan for escapes
  #nextEscape = -1;
  #template: Record<string, Value> | undefined;
  #templateColumns = -1;
  #escaped = false;
  #out: Record<string, Value> = {};
  #owner: PathNode[] | undefined;
  #currentColumn = "";
  #rowId = "";
  #rootKey: Value[] = [];
  #pending: PendingChildRow[] | undefined;

  constructor(source: TableSchema, options: ResolvedUnnestOptions, previous?: TableUnnester) {
    this.source = source;
    this.options = options;
    this.#childTables = options.lists === "child-tables";
    this.#maxDepth = options.maxDepth;
    this.#tableIds = new IdentifierRegistry(options.maxIdentifierLength);
    this.#tableIds.reserve(source.table.name);
    const wanted = options.columns === undefined ? undefined : new Set(options.columns);
    const keyColumns: ColumnSchema[] = [];
    for (const name of source.primaryKey) {
      const column = source.columns.find((c) => c.name === name);
      if (column !== undefined) keyColumns.push({ ...column, nullable: false });
    }
    this.#keyColumns = keyColumns;
    const keyChanged = previous !== undefined && previous.source.primaryKey.join("\u0000") !== source.primaryKey.join("\u0000");
    this.#orphans = previous === undefined || keyChanged ? new Map() : previous.#orphans;
    this.seeded = previous?.seeded ?? false;
    this.variants = previous?.variants ?? false;
    this.mixedScalarsAsJson = previous?.mixedScalarsAsJson ?? false;
    this.targetKind = previous?.targetKind;
    const version = Math.max(source.version, previous === undefined ? 0 : previous.root.version + 1);
    this.root = new FlatTable({
      fullName: source.table.name,
      ref: source.table,
      parent: undefined,
      column: "",
      root: new PathNode([], 0),
      fixed: [],
      primaryKey: source.primaryKey,
      version,
      maxIdentifierLength: options.maxIdentifierLength,
    });
    this.tables.push(this.root);
    for (const column of source.columns) {
      const unnest = options.mode !== "none" && isUnnestable(column.type) && (wanted === undefined || wanted.has(column.name));
      if (!unnest) {
        this.#passthrough.push(column.name);
        this.root.ids.reserve(column.name);
      }
    }
    for (const column of source.columns) {
      if (this.#passthrough.includes(column.name)) continue;
      const old = keyChanged ? undefined : previous?.unnested.find((u) => u.name === column.name);
      if (old !== undefined) {
        this.unnested.push({ ...old, json: isJsonText(column.type) });
        for (const node of old.nodes) {
          if (node.column !== undefined) this.root.ids.reserve(node.column);
          this.root.flat.push(node);
        }
        this.#adoptChildTables(old.node);
        continue;
      }
      const node = new PathNode(column.name === "" || !options.prefix ? [] : [column.name], 0);
      if (!options.prefix && column.name !== "") node.ownName = column.name;
      const entry: UnnestedColumn = { name: column.name, json: isJsonText(column.type), node, nodes: [] };
      this.unnested.push(entry);
      if (column.type.kind === "struct") this.#declareStruct(node, column.type.fields, this.root, entry.nodes);
      else if (isJsonText(column.type) && this.#maxDepth === 0) this.#addColumn(node, this.root, "json", entry.nodes);
    }
    if (this.#childTables && this.unnested.length > 0 && this.#keyColumns.length === 0) {
      throw new ZeroEtlError(`unnest: table ${tableKey(source.table)} has no primary key, so lists cannot become child tables (use lists: "json")`, {
        code: "schema-unsupported",
        table: tableKey(source.table),
      });
    }
  }

  #adoptChildTables(node: PathNode): void {
    if (node.child !== undefined) {
      this.#tableIds.reserve(node.child.ref.name);
      this.tables.push(node.child);
      this.#adoptChildTables(node.child.root);
    }
    for (const child of node.order) this.#adoptChildTables(child);
  }

  #declareStruct(node: PathNode, fields: readonly StructField[], table: FlatTable, owner: PathNode[] | undefined): void {
    if (node.children === undefined) node.children = new Map();
    for (const field of fields) {
      const child = node.childFor(field.name);
      if (field.type.kind === "struct" && child.depth < this.#maxDepth) this.#declareStruct(child, field.type.fields, table, owner);
      else if (field.type.kind === "list" && this.#childTables) child.declaredElement = field.type.element;
      else if (field.type.kind === "struct" || field.type.kind === "list" || field.type.kind === "json") this.#addColumn(child, table, "json", owner);
      else {
        child.declared = field.type;
        this.#addColumn(child, table, "json", owner);
      }
    }
  }

  #addColumn(node: PathNode, table: FlatTable, kind: LeafKind, owner: PathNode[] | undefined): void {
    if (node.kind !== undefined && node.kind !== kind) this.widenings++;
    node.kind = kind;
    if (node.column === undefined) {
      node.column = table.ids.assign(this.#pathName(node));
      node.base = node.column;
      table.flat.push(node);
      owner?.push(node);
    }
    table.dirty = true;
  }

  /** {@link widenLeafKind}, or `json` for scalars of different types under {@link mixedScalarsAsJson}. */
  #widen(a: LeafKind, b: LeafKind): LeafKind {
    const wider = widenLeafKind(a, b);
    return wider === "string" && a !== b && this.mixedScalarsAsJson ? "json" : wider;
  }

  #pathName(node: PathNode): string {
    return node.segments.length === 0 ? (node.ownName ?? VALUE_COLUMN) : pathColumnName(node.segments, this.options.separator);
  }

  #settle(node: PathNode, table: FlatTable, kind: LeafKind): LeafKind {
    if (!node.claimChecked && table === this.root) this.#claim(node, table);
    const prev = node.kind;
    const next = prev === undefined ? (node.children !== undefined ? "json" : kind) : this.#widen(prev, kind);
    if (prev !== undefined && next !== prev && node.column !== undefined && table === this.root) return this.#retype(node, table, next);
    if (next !== prev || node.column === undefined) this.#addColumn(node, table, next, table === this.root ? this.#owner : undefined);
    return next;
  }

  /**
   * A root column's values need a wider kind. A target column that already
   * holds it needs no schema change (a narrower value into a wider column);
   * a target that cannot alter types moves the path to a variant column
   * `<column>__v_<type>` (the old column keeps the values written before and
   * is null in rows written after); otherwise the column widens in place.
   */
  #retype(node: PathNode, table: FlatTable, next: LeafKind): LeafKind {
    let held = this.targetKind?.(node.column ?? "");
    // where columns cannot be altered (Iceberg), JSON is kept as text: a string column holds it
    if (held === "string" && next === "json" && this.variants) held = "json";
    if (held !== undefined && this.#widen(held, next) === held) {
      if (held !== node.kind) {
        node.kind = held;
        this.widenings++;
        table.dirty = true;
      }
      return held;
    }
    if (!this.variants || !node.published) {
      this.#addColumn(node, table, next, undefined);
      return next;
    }
    const owner = this.unnested.find((u) => u.nodes.includes(node))?.nodes;
    const old = new PathNode([], node.depth);
    old.column = node.column;
    old.kind = node.kind;
    old.published = true;
    replaceNode(table.flat, node, old);
    if (owner !== undefined) replaceNode(owner, node, old);
    this.#orphans.set(old.column ?? "", old);
    const name = table.ids.assign(variantColumnName(node.base ?? node.column ?? "", LEAF_TYPES[next]));
    const known = this.#orphans.get(name);
    node.column = name;
    if (known === undefined) {
      node.kind = next;
      node.published = false;
      table.flat.push(node);
      owner?.push(node);
    } else {
      node.kind = widenLeafKind(known.kind ?? next, next);
      this.#orphans.delete(name);
      replaceNode(table.flat, known, node);
      if (owner !== undefined) replaceNode(owner, known, node);
    }
    this.widenings++;
    table.dirty = true;
    return node.kind;
  }

  /**
   * Gives a path seen for the first time the target column (or the widest of
   * its variant columns) the target already has for it, with that column's
   * kind, so values keep landing where they did before a restart.
   */
  #claim(node: PathNode, table: FlatTable): void {
    node.claimChecked = true;
    if (node.column !== undefined || this.#orphans.size === 0) return;
    const name = table.ids.assign(this.#pathName(node));
    const prefix = `${name}__v_`;
    const candidates: PathNode[] = [];
    let kind: LeafKind | undefined;
    for (const [column, orphan] of this.#orphans) {
      if (column !== name && !(column.startsWith(prefix) && VARIANT_TAGS.has(column.slice(prefix.length)))) continue;
      candidates.push(orphan);
      if (orphan.kind !== undefined) kind = kind === undefined ? orphan.kind : widenLeafKind(kind, orphan.kind);
    }
    const best = candidates.find((c) => c.kind === kind) ?? candidates[0];
    if (best === undefined) return;
    node.column = best.column;
    node.base = name;
    node.kind = best.kind;
    node.published = true;
    this.#orphans.delete(best.column ?? "");
    replaceNode(table.flat, best, node);
    for (const unnested of this.unnested) replaceNode(unnested.nodes, best, node);
  }

  /**
   * Learns the columns a target table already has (after a restart the
   * mapper starts empty): each column of an unnested source column becomes
   * known with the kind its type holds, so an update sets it to null when the
   * new image lacks it, and a path seen again writes into it with that kind
   * (a narrower value into a wider column is no schema change).
   */
  seed(target: TableSchema): void {
    this.seeded = true;
    const sep = this.options.separator;
    for (const column of target.columns) {
      if (this.#passthrough.includes(column.name) || this.#orphans.has(column.name)) continue;
      const kind = leafKindOf(column.type);
      if (kind === undefined || this.root.flat.some((n) => n.column === column.name)) continue;
      const owner = this.options.prefix
        ? this.unnested.find((u) => column.name.startsWith(`${u.name}${sep}`))
        : this.unnested.length === 1
          ? this.unnested[0]
          : undefined;
      if (owner === undefined) continue;
      const orphan = new PathNode([], 1);
      orphan.column = column.name;
      orphan.kind = kind;
      orphan.published = true;
      this.root.flat.push(orphan);
      owner.nodes.push(orphan);
      this.#orphans.set(column.name, orphan);
      this.root.dirty = true;
    }
  }

  /**
   * Turns every path seen both as an object and as a scalar into one `json`
   * column, dropping its sub-columns and the child tables below it. Used
   * after inference over a sample, where the whole sample is known.
   */
  collapseMixed(): void {
    const removedNodes = new Set<PathNode>();
    const removedTables = new Set<FlatTable>();
    const drop = (node: PathNode): void => {
      for (const child of node.order) {
        removedNodes.add(child);
        drop(child);
      }
      if (node.child !== undefined) {
        removedTables.add(node.child);
        drop(node.child.root);
      }
    };
    const visit = (node: PathNode, table: FlatTable): void => {
      if (node.children !== undefined && node.kind !== undefined && node.declared === undefined) {
        for (const child of node.order) {
          removedNodes.add(child);
          drop(child);
        }
        node.children = undefined;
        node.order = [];
        node.kind = "json";
        table.dirty = true;
      } else for (const child of node.order) visit(child, table);
      if (node.child !== undefined && !removedTables.has(node.child)) visit(node.child.root, node.child);
    };
    for (const unnested of this.unnested) visit(unnested.node, this.root);
    if (removedNodes.size === 0 && removedTables.size === 0) return;
    const keep = (list: PathNode[]): void => {
      for (let i = list.length - 1; i >= 0; i--) if (removedNodes.has(list[i] as PathNode)) list.splice(i, 1);
    };
    for (const table of this.tables) keep(table.flat);
    for (const unnested of this.unnested) keep(unnested.nodes);
    for (let i = this.tables.length - 1; i >= 0; i--) if (removedTables.has(this.tables[i] as FlatTable)) this.tables.splice(i, 1);
  }

  /** Tables whose schema changed since their schema was last built (new tables included). */
  changedTables(): FlatTable[] {
    const out: FlatTable[] = [];
    for (const table of this.tables) if (table.dirty) out.push(table);
    return out;
  }

  /** Target schemas, root first, then child tables parent before child. */
  schemas(): TableSchema[] {
    return this.tables.map((t) => this.schemaOf(t));
  }

  /** The current schema of one target table. */
  schemaOf(table: FlatTable): TableSchema {
    return table.schema((t) => this.#columnsOf(t));
  }

  #columnsOf(table: FlatTable): ColumnSchema[] {
    const flatColumn = (node: PathNode): ColumnSchema => {
      node.published = true;
      return { name: node.column ?? "", type: node.type, nullable: true };
    };
    if (table !== this.root) return [...table.fixed, ...table.flat.map(flatColumn)];
    const columns: ColumnSchema[] = [];
    for (const column of this.source.columns) {
      const unnested = this.unnested.find((u) => u.name === column.name);
      if (unnested === undefined) columns.push(column);
      else for (const node of unnested.nodes) columns.push(flatColumn(node));
    }
    return columns;
  }

  /** The id of a root row: the parent id of its first-level child rows. */
  rootIdOf(row: Row): string {
    return rootRowId(this.#keyColumns.map((c) => row[c.name] ?? null));
  }

  /** The root primary-key columns, as child tables carry them. */
  get keyColumns(): readonly ColumnSchema[] {
    return this.#keyColumns;
  }

  /**
   * Flattens one source row image. Columns absent from `row` (unchanged
   * TOAST values) stay absent, and so do the flattened columns of an absent
   * unnested column. Child rows are appended to `pending` (parent first).
   */
  flatten(row: Row, pending: PendingChildRow[] | undefined): Record<string, Value> {
    let complete = true;
    for (const unnested of this.unnested) if (row[unnested.name] === undefined) complete = false;
    for (const name of this.#passthrough) if (row[name] === undefined) complete = false;
    let out: Record<string, Value>;
    if (complete) {
      // cloning a template gives every row the same shape in one step, so the
      // walker's stores hit existing properties instead of growing the object
      if (this.#template === undefined || this.#templateColumns !== this.root.flat.length) this.#buildTemplate();
      out = { ...this.#template };
      for (const name of this.#passthrough) out[name] = row[name] as Value;
    } else {
      out = {};
      for (const name of this.#passthrough) {
        const value = row[name];
        if (value !== undefined) out[name] = value;
      }
    }
    if (this.unnested.length === 0) return out;
    this.#out = out;
    this.#pending = pending;
    if (this.#childTables && pending !== undefined) {
      this.#rowId = this.rootIdOf(row);
      this.#rootKey = this.#keyColumns.map((c) => row[c.name] ?? null);
    }
    for (const unnested of this.unnested) {
      const value = row[unnested.name];
      if (value === undefined) continue;
      if (!complete) for (const node of unnested.nodes) out[node.column ?? ""] = null;
      if (value === null) continue;
      this.#owner = unnested.nodes;
      this.#currentColumn = unnested.name;
      if (typeof value === "string" && unnested.json) {
        this.#text = value;
        this.#pos = 0;
        this.#nextEscape = value.indexOf("\\");
        this.#walkText(unnested.node, this.root);
      } else this.#walkValue(unnested.node, this.root, value);
    }
    this.#owner = undefined;
    this.#text = "";
    this.#pending = undefined;
    return out;
  }

  #buildTemplate(): void {
    const template: Record<string, Value> = {};
    for (const name of this.#passthrough) template[name] = null;
    for (const unnested of this.unnested) for (const node of unnested.nodes) template[node.column ?? ""] = null;
    this.#template = template;
    this.#templateColumns = this.root.flat.length;
  }

  /** Sets every known column missing from a row to null (rows built before a column existed). */
  completeRow(table: FlatTable, row: Record<string, Value>): void {
    for (const node of table.flat) if (node.column !== undefined && !(node.column in row)) row[node.column] = null;
  }

  // ---- JSON text walker ----

  #skipWs(pos: number): number {
    const text = this.#text;
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++pos);
    return pos;
  }

  #walkText(node: PathNode, table: FlatTable): void {
    const text = this.#text;
    const pos = this.#skipWs(this.#pos);
    const c = text.charCodeAt(pos);
    this.#pos = pos;
    switch (c) {
      case 123: {
        // an empty object at a flattened level has no leaves: it writes nothing, like null, even where
        // the path is a json column (a scalar came first); otherwise a snapshot, which flattens it
        // before that column exists, and the stream, which flattens it after, would disagree
        const close = this.#skipWs(pos + 1);
        if (text.charCodeAt(close) === 125 && node.depth < this.#maxDepth) {
          this.#pos = close + 1;
          return;
        }
        if (!node.claimChecked && table === this.root) this.#claim(node, table);
        if (node.depth < this.#maxDepth && (node.kind === undefined || node.children !== undefined)) this.#walkTextObject(node, table);
        else this.#emitRaw(node, table, pos, this.#skipRaw(pos));
        return;
      }
      case 91:
        if (this.#childTables && this.#pending !== undefined && node.depth < this.#maxDepth) this.#walkTextList(node, table);
        else this.#emitRaw(node, table, pos, this.#skipRaw(pos));
        return;
      case 34: {
        const end = this.#scanString(pos);
        this.#pos = end;
        const kind = node.kind === "string" ? "string" : this.#settle(node, table, "string");
        this.#out[node.column ?? ""] = kind === "string" ? this.#decodeString(pos, end) : text.slice(pos, end);
        return;
      }
      case 116:
      case 102: {
        const value = c === 116;
        const end = pos + (value ? 4 : 5);
        this.#pos = end;
        const kind = node.kind === "bool" ? "bool" : this.#settle(node, table, "bool");
        this.#out[node.column ?? ""] = kind === "bool" ? value : value ? "true" : "false";
        return;
      }
      case 110:
        this.#pos = pos + 4;
        return;
      default:
        this.#walkTextNumber(node, table, pos);
    }
  }

  #walkTextNumber(node: PathNode, table: FlatTable, start: number): void {
    const text = this.#text;
    let pos = start;
    let integer = true;
    let exponent = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c >= 48 && c <= 57) pos++;
      else if (c === 45 || c === 43) pos++;
      else if (c === 46) {
        integer = false;
        pos++;
      } else if (c === 101 || c === 69) {
        integer = false;
        exponent = true;
        pos++;
      } else break;
    }
    if (pos === start) {
      throw new ZeroEtlError(`unnest: invalid JSON in ${tableKey(this.source.table)} at offset ${start}`, { code: "record-rejected", table: tableKey(this.source.table) });
    }
    this.#pos = pos;
    const negative = text.charCodeAt(start) === 45;
    const digits = pos - start - (negative ? 1 : 0);
    let inRange = integer && digits < 19;
    if (integer && digits === 19) {
      const body = text.slice(negative ? start + 1 : start, pos);
      inRange = body <= (negative ? INT64_MIN_ABS : INT64_MAX);
    }
    const leaf: LeafKind = inRange ? "int" : "decimal";
    const kind = node.kind === leaf ? leaf : this.#settle(node, table, leaf);
    const column = node.column ?? "";
    if (kind === "int") {
      if (digits <= 15) {
        let n = 0;
        for (let i = negative ? start + 1 : start; i < pos; i++) n = n * 10 + text.charCodeAt(i) - 48;
        this.#out[column] = BigInt(negative ? -n : n);
      } else this.#out[column] = BigInt(text.slice(start, pos));
    } else if (kind === "decimal") this.#out[column] = exponent ? jsonNumberToDecimal(text.slice(start, pos)) : text.slice(start, pos);
    else this.#out[column] = text.slice(start, pos);
  }

  #walkTextObject(node: PathNode, table: FlatTable): void {
    const text = this.#text;
    if (node.children === undefined) node.children = new Map();
    const order = node.order;
    let next = 0;
    let pos = this.#pos + 1;
    for (;;) {
      pos = this.#skipWs(pos);
      let c = text.charCodeAt(pos);
      if (c === 44) {
        pos = this.#skipWs(pos + 1);
        c = text.charCodeAt(pos);
      }
      if (c === 125) {
        this.#pos = pos + 1;
        return;
      }
      if (c !== 34) {
        throw new ZeroEtlError(`unnest: invalid JSON in ${tableKey(this.source.table)} at offset ${pos}`, { code: "record-rejected", table: tableKey(this.source.table) });
      }
      let child = order[next];
      const raw = child?.rawKey;
      if (child !== undefined && raw !== undefined && text.charCodeAt(pos + 1 + raw.length) === 34 && text.startsWith(raw, pos + 1)) {
        pos += raw.length + 2;
        next++;
      } else {
        const end = this.#scanString(pos);
        const key = this.#decodeString(pos, end);
        pos = end;
        child = node.childFor(key);
        next = order.indexOf(child) + 1;
      }
      pos = this.#skipWs(pos);
      if (text.charCodeAt(pos) !== 58) {
        throw new ZeroEtlError(`unnest: invalid JSON in ${tableKey(this.source.table)} at offset ${pos}: expected ':'`, { code: "record-rejected", table: tableKey(this.source.table) });
      }
      this.#pos = pos + 1;
      this.#walkText(child, table);
      pos = this.#pos;
    }
  }

  #walkTextList(node: PathNode, table: FlatTable): void {
    const text = this.#text;
    const childTable = node.child ?? this.#createChildTable(node, table);
    const out = this.#out;
    const rowId = this.#rowId;
    const owner = this.#owner;
    this.#owner = undefined;
    let index = 0;
    let pos = this.#pos + 1;
    for (;;) {
      pos = this.#skipWs(pos);
      let c = text.charCodeAt(pos);
      if (c === 44) {
        pos = this.#skipWs(pos + 1);
        c = text.charCodeAt(pos);
      }
      if (c === 93 || Number.isNaN(c)) {
        pos++;
        break;
      }
      this.#newChildRow(childTable, rowId, index++);
      this.#pos = pos;
      this.#walkText(childTable.root, childTable);
      pos = this.#pos;
      this.#rowId = rowId;
    }
    this.#pos = pos;
    this.#out = out;
    this.#rowId = rowId;
    this.#owner = owner;
  }

  #newChildRow(table: FlatTable, parentId: string, index: number): void {
    const row: Record<string, Value> = {};
    const key = this.#keyColumns;
    for (let i = 0; i < key.length; i++) row[(key[i] as ColumnSchema).name] = this.#rootKey[i] ?? null;
    const id = childRowId(parentId, table.fullName, index);
    row[PARENT_ID_COLUMN] = parentId;
    row[LIST_INDEX_COLUMN] = index;
    row[ROW_ID_COLUMN] = id;
    for (const node of table.flat) row[node.column ?? ""] = null;
    this.#pending?.push({ table, row });
    this.#out = row;
    this.#rowId = id;
  }

  #createChildTable(node: PathNode, table: FlatTable): FlatTable {
    const sep = this.options.separator;
    const fullName = `${table.fullName}${sep}${node.segments.length === 0 ? (node.ownName ?? VALUE_COLUMN) : node.segments.join(sep)}`;
    const fixed: ColumnSchema[] = [
      ...this.#keyColumns,
      { name: PARENT_ID_COLUMN, type: PARENT_TYPE, nullable: false },
      { name: LIST_INDEX_COLUMN, type: INDEX_TYPE, nullable: false },
      { name: ROW_ID_COLUMN, type: PARENT_TYPE, nullable: false },
    ];
    const root = new PathNode([], node.depth + 1);
    const child = new FlatTable({
      fullName,
      ref: { namespace: this.source.table.namespace, name: this.#tableIds.assign(fullName) },
      parent: table,
      column: table === this.root ? this.#currentColumn : table.column,
      root,
      fixed,
      primaryKey: [...this.#keyColumns.map((c) => c.name), PARENT_ID_COLUMN, LIST_INDEX_COLUMN],
      version: this.source.version,
      maxIdentifierLength: this.options.maxIdentifierLength,
    });
    const element = node.declaredElement;
    if (element !== undefined) {
      if (element.kind === "struct" && root.depth < this.#maxDepth) this.#declareStruct(root, element.fields, child, undefined);
      else if (element.kind !== "list" && element.kind !== "struct" && element.kind !== "json") {
        root.declared = element;
        this.#addColumn(root, child, "json", undefined);
      }
    }
    node.child = child;
    this.tables.push(child);
    return child;
  }

  #emitRaw(node: PathNode, table: FlatTable, start: number, end: number): void {
    this.#pos = end;
    this.#settle(node, table, "json");
    this.#out[node.column ?? ""] = this.#text.slice(start, end);
  }

  /** Returns the index after the closing quote; sets `#escaped` when the string holds a backslash. */
  #scanString(start: number): number {
    const text = this.#text;
    const quote = text.indexOf('"', start + 1);
    if (quote < 0) this.#unterminated(start);
    let escape = this.#nextEscape;
    if (escape >= 0 && escape < start) escape = this.#nextEscape = text.indexOf("\\", start);
    if (escape < 0 || escape > quote) {
      this.#escaped = false;
      return quote + 1;
    }
    this.#escaped = true;
    let pos = escape;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 34) return pos + 1;
      if (c === 92) pos += 2;
      else if (Number.isNaN(c)) return this.#unterminated(start);
      else pos++;
    }
  }

  #unterminated(start: number): never {
    throw new ZeroEtlError(`unnest: unterminated JSON string in ${tableKey(this.source.table)} at offset ${start}`, { code: "record-rejected", table: tableKey(this.source.table) });
  }

  /** Decodes the string just scanned by {@link #scanString}. */
  #decodeString(start: number, end: number): string {
    return this.#escaped ? (JSON.parse(this.#text.slice(start, end)) as string) : this.#text.slice(start + 1, end - 1);
  }

  #skipRaw(start: number): number {
    const text = this.#text;
    let depth = 0;
    let pos = start;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 34) {
        pos = this.#scanString(pos);
        continue;
      }
      pos++;
      if (c === 123 || c === 91) depth++;
      else if ((c === 125 || c === 93) && --depth === 0) return pos;
      else if (Number.isNaN(c)) return pos - 1;
    }
  }

  // ---- value walker (struct values, or JSON documents handed over as objects) ----

  #walkValue(node: PathNode, table: FlatTable, value: Value | undefined): void {
    if (value === null || value === undefined) return;
    if (node.declared !== undefined) {
      this.#out[node.column ?? ""] = value;
      return;
    }
    switch (typeof value) {
      case "boolean":
        this.#emitValue(node, table, "bool", value);
        return;
      case "bigint":
        this.#emitValue(node, table, value >= -9223372036854775808n && value <= 9223372036854775807n ? "int" : "decimal", value);
        return;
      case "number":
        if (Number.isFinite(value)) this.#emitValue(node, table, Number.isSafeInteger(value) ? "int" : "decimal", value);
        return;
      case "string":
        this.#emitValue(node, table, "string", value);
        return;
      default:
        break;
    }
    if (value instanceof Uint8Array) {
      this.#emitValue(node, table, "string", Buffer.from(value).toString("base64"));
      return;
    }
    if (Array.isArray(value)) {
      if (this.#childTables && this.#pending !== undefined && node.depth < this.#maxDepth) this.#walkValueList(node, table, value as readonly Value[]);
      else this.#emitValue(node, table, "json", value);
      return;
    }
    const record = value as Readonly<Record<string, Value>>;
    // an empty object at a flattened level writes nothing (see #walkText)
    if (node.depth < this.#maxDepth && isEmptyRecord(record)) return;
    if (!node.claimChecked && table === this.root) this.#claim(node, table);
    if (node.depth < this.#maxDepth && (node.kind === undefined || node.children !== undefined)) {
      if (node.children === undefined) node.children = new Map();
      for (const key in record) this.#walkValue(node.childFor(key), table, record[key]);
    } else this.#emitValue(node, table, "json", value);
  }

  #walkValueList(node: PathNode, table: FlatTable, list: readonly Value[]): void {
    const childTable = node.child ?? this.#createChildTable(node, table);
    const out = this.#out;
    const rowId = this.#rowId;
    const owner = this.#owner;
    this.#owner = undefined;
    for (let i = 0; i < list.length; i++) {
      this.#newChildRow(childTable, rowId, i);
      this.#walkValue(childTable.root, childTable, list[i]);
      this.#rowId = rowId;
    }
    this.#out = out;
    this.#owner = owner;
  }

  #emitValue(node: PathNode, table: FlatTable, leaf: LeafKind, value: Value): void {
    const kind = node.kind === leaf ? leaf : this.#settle(node, table, leaf);
    const column = node.column ?? "";
    switch (kind) {
      case "bool":
        this.#out[column] = value;
        return;
      case "int":
        this.#out[column] = typeof value === "bigint" ? value : BigInt(value as number);
        return;
      case "decimal":
        this.#out[column] = typeof value === "number" ? jsonNumberToDecimal(String(value)) : String(value);
        return;
      case "string":
        this.#out[column] = typeof value === "string" ? value : String(value);
        return;
      default:
        this.#out[column] = writeJsonValue(value);
    }
  }
}

function isEmptyRecord(record: Readonly<Record<string, Value>>): boolean {
  for (const _ in record) return false;
  return true;
}

function replaceNode(list: PathNode[], from: PathNode, to: PathNode): void {
  const at = list.indexOf(from);
  if (at >= 0) list[at] = to;
}
