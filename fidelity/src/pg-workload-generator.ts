import type { Rng } from "./prng.js";
import { randomBytes, randomDate, randomDecimal, randomDouble, randomFloat, randomJson, randomText, randomTimeOfDay, randomUuid } from "./random-values.js";
import type { FeatureCheck, Phase, Step, Workload } from "./workload.js";

/** A PostgreSQL column type the generator can make values for. */
interface PgType {
  /** The gate (feature name without the pair prefix) that enables the type. */
  readonly feature: string;
  readonly ddl: string;
  /** A SQL expression for a random value (a literal, or `repeat(…)` for out-of-line text). */
  value(rng: Rng): string;
  /** The type this one widens to, if the generator may widen it. */
  readonly widen?: () => PgType;
}

interface ColumnModel {
  name: string;
  type: PgType;
  readonly nullable: boolean;
  /**
   * A column with a job that DDL must not break (`gbase` feeds generated
   * columns, `generated` is one, `uid` backs the identity index, `cat` is the
   * row filter's column): never dropped, renamed, retyped; `generated` and
   * `uid` are never written by a random update.
   */
  readonly role?: "gbase" | "generated" | "uid" | "cat";
}

/** A source schema; `name` changes with `ALTER SCHEMA … RENAME`, `home` is the name the filter knows. */
interface SchemaModel {
  name: string;
  readonly home: string;
  /** Whether `filter.include` selects it (under its home name). */
  readonly included: boolean;
}

type Identity = "default" | "full" | "index";

interface TableModel {
  name: string;
  schema: SchemaModel;
  readonly key: readonly { readonly name: string; readonly keyType: KeyType }[];
  columns: ColumnModel[];
  /** Hash partitions on the first key column (0: an ordinary table). */
  partitions: number;
  /** The replica identity; `index` uses `uidIndex` (a unique index on the `uid` column). */
  identity: Identity;
  uidIndex: string | undefined;
  /** Ids of the rows present at the source (see `keyValue`). */
  live: number[];
  /** An out-of-line (TOAST) text column, if any. */
  toast: string | undefined;
  /** Whether the TOAST column is NOT NULL (the sink's upsert then cannot fill it with NULL). */
  toastNotNull: boolean;
}

type KeyType = "int4" | "int8" | "text" | "uuid" | "date" | "numeric";

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** A table's schema-qualified name as it is now. */
const ref = (t: { readonly name: string; readonly schema: SchemaModel }) => `${q(t.schema.name)}.${q(t.name)}`;
const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The key value of row `id` in key column `index`: unique per id, deterministic. */
function keyValue(keyType: KeyType, id: number, index: number): string {
  switch (keyType) {
    case "int4":
      return String(id * 3 + index);
    case "int8":
      return String(4611686018427387904n + BigInt(id) * 1000003n + BigInt(index));
    case "text":
      return lit(`k${id}-${["", "é", "😀", "中", " ", "'"][(id + index) % 6] ?? ""}`);
    case "uuid":
      return lit(`00000000-0000-4000-8000-${(id * 8 + index).toString(16).padStart(12, "0")}`);
    case "date":
      return lit(new Date(Date.UTC(2000, 0, 1) + (id * 3 + index) * 86_400_000).toISOString().slice(0, 10));
    case "numeric":
      return `${id}.${String(index).padStart(3, "0")}5`;
  }
}

const KEY_DDL: Record<KeyType, string> = { int4: "int4", int8: "int8", text: "text", uuid: "uuid", date: "date", numeric: "numeric(20,4)" };

function numericType(precision: number, scale: number, maxPrecision: number): PgType {
  return {
    feature: "core",
    ddl: `numeric(${precision},${scale})`,
    value: (rng) => randomDecimal(rng, precision, scale),
    ...(precision + 5 <= maxPrecision ? { widen: () => numericType(precision + 5, scale, maxPrecision) } : {}),
  };
}

function varcharType(n: number): PgType {
  return { feature: "core", ddl: `varchar(${n})`, value: (rng) => lit(randomText(rng, n)), widen: () => varcharType(n * 2) };
}

const int8Type: PgType = {
  feature: "core",
  ddl: "int8",
  value: (rng) => rng.pick(["0", "-1", "9223372036854775807", "-9223372036854775808", String(rng.int(-1e9, 1e9) * 1000003)]),
};
const int4Type: PgType = { feature: "core", ddl: "int4", value: (rng) => rng.pick(["0", "2147483647", "-2147483648", String(rng.int(-1e6, 1e6))]), widen: () => int8Type };
const int2Type: PgType = { feature: "core", ddl: "int2", value: (rng) => rng.pick(["0", "32767", "-32768", String(rng.int(-999, 999))]), widen: () => int4Type };

function floatLiteral(rng: Rng, n: number, nonFinite: boolean, cast: string): string {
  if (nonFinite && rng.chance(0.3)) return `${lit(rng.pick(["NaN", "Infinity", "-Infinity", "-0"]))}::${cast}`;
  return `${lit(String(n))}::${cast}`;
}

/** A `fz_addr` value (text, int, text[] and a nested `fz_pt` of numeric or int8, and float8), with NULL fields at times. */
function compositeValue(rng: Rng, numeric: boolean): string {
  const field = (v: () => string) => (rng.chance(0.15) ? "NULL" : v());
  const point = field(() => `ROW(${numeric ? randomDecimal(rng, 12, 3) : String(rng.int(-1e9, 1e9) * 1009)}, ${rng.pick(["1.5", "-0.25", "3.14159", "1e-7", "0"])})::fz_pt`);
  const tags = field(() => `ARRAY[${Array.from({ length: rng.int(0, 3) }, () => (rng.chance(0.2) ? "NULL" : lit(randomText(rng, 6).replace(/\u00a0/g, "~")))).join(", ")}]::text[]`);
  return `ROW(${field(() => lit(randomText(rng, 12)))}, ${field(() => String(rng.int(-1e6, 1e6)))}, ${tags}, ${point})::fz_addr`;
}

/** Every type the PostgreSQL generator knows; `feature` names its gate. */
function pgTypes(on: FeatureCheck, maxPrecision: number): PgType[] {
  const float8: PgType = { feature: "float", ddl: "float8", value: (rng) => floatLiteral(rng, randomDouble(rng), on("float-nonfinite"), "float8") };
  const float4: PgType = { feature: "float", ddl: "float4", value: (rng) => floatLiteral(rng, randomFloat(rng), on("float-nonfinite"), "float4"), widen: () => float8 };
  const dateValue = (rng: Rng) => {
    if (on("temporal-infinity") && rng.chance(0.15)) return rng.pick(["infinity", "-infinity"]);
    if (on("temporal-edge") && rng.chance(0.15)) return rng.pick(["0001-01-01", "4713-01-01 BC", "0044-03-15 BC", "5874897-12-31", "21016-01-01"]);
    return randomDate(rng);
  };
  const timestampValue = (rng: Rng, zone: boolean) => {
    if (on("temporal-infinity") && rng.chance(0.15)) return rng.pick(["infinity", "-infinity"]);
    if (on("temporal-edge") && rng.chance(0.15))
      return rng.pick(["294246-12-31 23:59:59.999999", "4713-01-01 00:00:00 BC", "0001-01-01 00:00:00", "21016-06-01 12:00:00"]) + (zone ? "+00" : "");
    return `${randomDate(rng)} ${randomTimeOfDay(rng)}${zone ? rng.pick(["+00", "+05:30", "-08"]) : ""}`;
  };
  const all: PgType[] = [
    int2Type,
    int4Type,
    int8Type,
    numericType(12, 2, maxPrecision),
    numericType(maxPrecision === 38 ? 33 : 38, 10, maxPrecision),
    numericType(5, 5, maxPrecision),
    { feature: "core", ddl: "text", value: (rng) => lit(randomText(rng, 24)) },
    varcharType(8),
    { feature: "core", ddl: "bool", value: (rng) => rng.pick(["true", "false"]) },
    { feature: "core", ddl: "uuid", value: (rng) => lit(randomUuid(rng)) },
    { feature: "core", ddl: "bytea", value: (rng) => `'\\x${Buffer.from(randomBytes(rng, 12)).toString("hex")}'::bytea` },
    float4,
    float8,
    {
      feature: "numeric-unconstrained",
      ddl: "numeric",
      value: (rng) => (on("numeric-nonfinite") && rng.chance(0.2) ? lit(rng.pick(["NaN", "Infinity", "-Infinity"])) : randomDecimal(rng, 60, rng.int(0, 30))),
    },
    { feature: "temporal", ddl: "date", value: (rng) => lit(dateValue(rng)) },
    { feature: "temporal", ddl: "time(6)", value: (rng) => lit(on("temporal-edge") && rng.chance(0.2) ? "24:00:00" : randomTimeOfDay(rng)) },
    { feature: "temporal", ddl: "timestamp(6)", value: (rng) => lit(timestampValue(rng, false)) },
    { feature: "temporal", ddl: "timestamptz(6)", value: (rng) => lit(timestampValue(rng, true)) },
    { feature: "temporal-edge", ddl: "timetz", value: (rng) => lit(`${randomTimeOfDay(rng)}${rng.pick(["+02", "-05:30", "+00"])}`) },
    { feature: "interval", ddl: "interval", value: (rng) => lit(`${rng.int(-3, 30)} years ${rng.int(-11, 11)} mons ${rng.int(-40, 40)} days ${randomTimeOfDay(rng)}`) },
    { feature: "json", ddl: "jsonb", value: (rng) => `${lit(randomJson(rng))}::jsonb` },
    { feature: "json", ddl: "json", value: (rng) => `${lit(randomJson(rng))}::json` },
    { feature: "json-exact", ddl: "json", value: (rng) => `${lit(rng.pick(['{"a": 1, "a": 2}', '{ "b" :[1 ,2] }', '"\\u00e9"', '{"z": 1, "a": 2}']))}::json` },
    {
      feature: "array",
      ddl: "int4[]",
      value: (rng) => `ARRAY[${Array.from({ length: rng.int(0, 4) }, () => (rng.chance(0.2) ? "NULL" : String(rng.int(-1e6, 1e6)))).join(", ")}]::int4[]`,
    },
    {
      feature: "array",
      ddl: "text[]",
      // a no-break space at an element's edge is where a trimming array parser loses it
      value: (rng) =>
        `ARRAY[${Array.from({ length: rng.int(0, 4) }, () => (rng.chance(0.2) ? "NULL" : lit(on("array-unicode-space") ? randomText(rng, 6) : randomText(rng, 6).replace(/\u00a0/g, "~")))).join(", ")}]::text[]`,
    },
    {
      feature: "array-numeric-json",
      ddl: "numeric[]",
      value: (rng) => `ARRAY[${Array.from({ length: rng.int(0, 4) }, () => rng.pick(["1.20", "0.5", "-3", "12345678901234567890.123"])).join(", ")}]::numeric[]`,
    },
    {
      feature: "array-numeric-json",
      ddl: "jsonb[]",
      value: (rng) => `ARRAY[${Array.from({ length: rng.int(0, 3) }, () => `${lit(randomJson(rng, 2))}::jsonb`).join(", ")}]::jsonb[]`,
    },
    { feature: "enum-domain", ddl: "fz_mood", value: (rng) => lit(rng.pick(["happy", "sad", "ok ☃", "a'b"])) },
    { feature: "enum-domain", ddl: "fz_posint", value: (rng) => String(rng.int(0, 2147483647)) },
    { feature: "enum-domain", ddl: "fz_code", value: (rng) => lit(randomText(rng, 12)) },
    { feature: "hstore", ddl: "hstore", value: (rng) => lit(rng.pick(['"k"=>"v"', '"a"=>NULL, "b"=>"2"', "", '"é"=>"😀"'])) },
    { feature: "extra-types", ddl: "inet", value: (rng) => lit(rng.pick(["10.0.0.1", "192.168.0.0/24", "::1", "2001:db8::/32"])) },
    { feature: "extra-types", ddl: "int4range", value: (rng) => lit(rng.pick(["[1,5)", "empty", "(,3]", "[2,)"])) },
    { feature: "composite", ddl: "fz_addr", value: (rng) => compositeValue(rng, on("composite-numeric")) },
  ];
  return all.filter((t) => on(t.feature));
}

/** Options of `generatePgWorkload`. */
/** Options of `generatePgWorkload`. */
export interface PgWorkloadOptions {
  readonly rng: Rng;
  /** Whether a feature (gate name without the pair prefix) is enabled. */
  readonly on: FeatureCheck;
  /** Rows per table at the start (default 5..40). */
  readonly maxRows?: number;
  /** Phases after the first run (default 2..3). */
  readonly phases?: number;
  /** The largest numeric precision a widening may reach (default 1000; 38 for Iceberg decimals). */
  readonly maxNumericPrecision?: number;
  /** Features to generate often (explicitly enabled gates). */
  readonly focus?: FeatureCheck | undefined;
  /** Whether the target can keep same-named tables of two schemas apart (`mapping.tableNames: schema_table`; PostgreSQL yes, Iceberg no). */
  readonly qualifiedNames?: boolean;
}

/**
 * Where a PostgreSQL workload's tables live and how the pipeline selects
 * them: the schemas `filter.include` names (their home names), how target
 * tables are named, and the row filters (`filter.rows`, all `fz_cat = 'x'`).
 */
export interface PgLayout {
  /** Included schemas (home names, in `filter.include` order); `["public"]` without a filter. */
  readonly included: readonly string[];
  /** Extra pipeline config (`filter`, `mapping`), empty for the default layout. */
  readonly config: Readonly<Record<string, unknown>>;
  /** `schema_table`: target table `<schema>_<table>`; `table`: the source table's name. */
  readonly naming: "table" | "schema_table";
  /** Row-filtered tables (`schema.table`, as in `filter.rows`): only rows with `fz_cat = 'x'` belong at the target. */
  readonly rowFilters: ReadonlySet<string>;
}

/** A PostgreSQL workload and its layout. */
export interface PgWorkload extends Workload {
  readonly layout: PgLayout;
}

/** The table of the `bulk` gate, in `public` (never touched by the random actions). */
const BULK_TABLE = "fz_bulk";
/** Rows at the snapshot: past the sink's deferred-key threshold (`DEFER_KEY_MIN_ROWS`, 10,000). */
const BULK_SNAPSHOT_ROWS = 12_000;
/**
 * Rows of the streamed insert transaction: more than the PostgreSQL source's
 * batch of 5,000 events, so it comes in two partial batches (5,000 and 600
 * rows), each past the insert fast path's size (`STAGED_MIN_ROWS`, 500).
 */
const BULK_STREAM_ROWS = 5_600;
/** `batch.maxRows` with the gate on: below 5,000, so the first partial batch is flushed (and checkpointed before the transaction) on its own. */
const BULK_BATCH_ROWS = 2_000;
const BULK_CREATE = `CREATE TABLE public.${BULK_TABLE} (id int8 PRIMARY KEY, v text NOT NULL, n numeric(12,2), at timestamptz);`;

/** Rows `from..to` of the bulk table, made by the server (deterministic: no random draws). */
function bulkInsert(from: number, to: number): string {
  return `INSERT INTO public.${BULK_TABLE} SELECT g, md5(g::text) || ' é😀', CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 37 % 100000) / 100.0 END, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(${from}, ${to}) g`;
}

/** The layout of a workload made by `generatePgWorkload` (the default layout for any other). */
export function pgLayoutOf(workload: Workload): PgLayout {
  if ("layout" in workload) return (workload as PgWorkload).layout;
  return { included: ["public"], config: {}, naming: "table", rowFilters: new Set() };
}

/** The row filter every filtered table gets; the comparator keeps the source rows with `fz_cat = 'x'`. */
export const ROW_FILTER = "fz_cat = 'x'";

/**
 * Generates a random PostgreSQL workload: a few tables with random column
 * types, nullability and 1-3 key columns (partitioned or not, with
 * generated columns, replica identities and row filters as the gates
 * allow), rows for the snapshot, then phases of random DML and DDL (as
 * enabled by the gates), each phase ending with a restart or a kill -9. The
 * table model is tracked so updates and deletes hit existing rows.
 */
export function generatePgWorkload(options: PgWorkloadOptions): PgWorkload {
  const { rng, on } = options;
  const used = new Set<string>();
  const types = pgTypes(on, options.maxNumericPrecision ?? 1000);
  const keyTypes: KeyType[] = ["int4", "int8", "text", "uuid", "date", "numeric"];
  let nextId = 1;
  let nextName = 1;
  let nextUid = 1;
  const tables: TableModel[] = [];

  const setup: Step[] = [];
  const step = (text: string, tableNames: readonly string[], features: readonly string[]): Step => {
    for (const f of features) used.add(f);
    return { text, tables: tableNames, features };
  };

  // Layout: one schema without a filter (the default), or `filter.include`
  // with an outside schema to move tables to, or two included schemas.
  // Random draws only when a gate asks, so other seeds keep their workloads.
  const sameName = on("same-name-schemas") && options.qualifiedNames !== false;
  const multi = on("same-name-schemas") || on("schema-move") ? rng.chance(sameName ? 0.6 : 0.35) : false;
  const moves = on("schema-move") && rng.chance(options.focus?.("schema-move") === true ? 0.9 : 0.6);
  const publicSchema: SchemaModel = { name: "public", home: "public", included: true };
  const secondSchema: SchemaModel = { name: "fz_s2", home: "fz_s2", included: true };
  const outside: SchemaModel = { name: "fz_out", home: "fz_out", included: false };
  const includedSchemas = multi ? [publicSchema, secondSchema] : [publicSchema];
  const explicitNaming = multi && options.qualifiedNames !== false && rng.chance(0.5);
  const rowFilters = new Set<string>();

  const preamble: string[] = [];
  if (on("enum-domain")) preamble.push(`CREATE TYPE fz_mood AS ENUM ('happy', 'sad', 'ok ☃', 'a''b')`, `CREATE DOMAIN fz_posint AS int4 CHECK (VALUE >= 0)`, `CREATE DOMAIN fz_code AS varchar(12)`);
  if (on("hstore")) preamble.push(`CREATE EXTENSION IF NOT EXISTS hstore`);
  if (on("composite")) preamble.push(`CREATE TYPE fz_pt AS (x ${on("composite-numeric") ? "numeric(12,3)" : "int8"}, y float8)`, `CREATE TYPE fz_addr AS (street text, no int4, tags text[], at fz_pt)`);
  if (multi) preamble.push(`CREATE SCHEMA fz_s2`);
  if (moves) preamble.push(`CREATE SCHEMA fz_out`);
  if (preamble.length > 0) setup.push(step(preamble.join(";\n") + ";", [], ["core"]));

  const newColumnName = (type: PgType) => `c${nextName++}_${type.ddl.replace(/[^a-z0-9]+/g, "_").replace(/_$/, "")}`;
  const plain = (c: ColumnModel) => c.role === undefined;

  const gbaseType: PgType = { feature: "generated-column", ddl: "int4", value: (r) => (r.chance(0.15) ? "NULL" : String(r.int(-1e6, 1e6))) };
  const uidType: PgType = { feature: "replica-identity", ddl: "int8", value: () => String(nextUid++ * 7919) };
  const catType: PgType = { feature: "row-filter", ddl: "text", value: (r) => lit(r.pick(["x", "y"])) };
  const generatedTypes: readonly { ddl: string; expression: string }[] = [
    { ddl: "int8", expression: `"gbase"::int8 * 2` },
    { ddl: "text", expression: `'g' || ("gbase"::text)` },
    { ddl: "numeric", expression: `("gbase"::numeric / 8)` },
  ];

  const makeTable = (name: string, schema: SchemaModel): TableModel => {
    const keyCount = rng.int(1, 3);
    const key = Array.from({ length: keyCount }, (_, i) => ({ name: `k${i}`, keyType: rng.pick(keyTypes) }));
    const columns: ColumnModel[] = [];
    for (let i = 0, n = rng.int(2, 7); i < n; i++) {
      const type = rng.pick(types);
      columns.push({ name: newColumnName(type), type, nullable: rng.chance(0.7) });
    }
    const toast = on("toast") && rng.chance(options.focus?.("toast-update") === true ? 0.9 : 0.6) ? "body" : undefined;
    const partitions = on("partitioned") && rng.chance(options.focus?.("partitioned") === true ? 0.8 : 0.3) ? rng.int(2, 3) : 0;
    if (on("generated-column") && rng.chance(options.focus?.("generated-column") === true ? 0.8 : 0.35)) {
      columns.push({ name: "gbase", type: gbaseType, nullable: true, role: "gbase" });
      for (const g of rng.shuffle(generatedTypes).slice(0, rng.int(1, 2)))
        columns.push({ name: `g_${g.ddl}`, type: { feature: "generated-column", ddl: `${g.ddl} GENERATED ALWAYS AS (${g.expression}) STORED`, value: () => "DEFAULT" }, nullable: true, role: "generated" });
    }
    let identity: Identity = "default";
    // a partitioned table's identity is its partitions' business; keep it DEFAULT
    if (on("replica-identity") && partitions === 0 && rng.chance(options.focus?.("replica-identity") === true ? 0.8 : 0.4)) {
      columns.push({ name: "uid", type: uidType, nullable: false, role: "uid" });
      identity = rng.pick(["default", "full", "index"]);
    }
    // every table has the filter column (so a table moved or recreated under a filtered name has it too); some are filtered
    if (on("row-filter")) {
      columns.push({ name: "fz_cat", type: catType, nullable: false, role: "cat" });
      if (rng.chance(options.focus?.("row-filter") === true ? 0.8 : 0.35)) rowFilters.add(`${schema.home}.${name}`);
    }
    const hasUid = columns.some((c) => c.role === "uid");
    return { name, schema, key, columns, live: [], toast, toastNotNull: rng.chance(0.5), partitions, identity, uidIndex: hasUid ? `fzu_${nextName++}` : undefined };
  };

  const identitySql = (t: TableModel): string =>
    t.identity === "full" ? "REPLICA IDENTITY FULL" : t.identity === "index" && t.uidIndex !== undefined ? `REPLICA IDENTITY USING INDEX ${q(t.uidIndex)}` : "REPLICA IDENTITY DEFAULT";

  const createSql = (t: TableModel): string => {
    for (const c of t.columns) {
      used.add(c.type.feature);
      // value-level gates ride on their type's columns
      if (c.type.feature === "float" && on("float-nonfinite")) used.add("float-nonfinite");
      if (c.type.feature === "numeric-unconstrained" && on("numeric-nonfinite")) used.add("numeric-nonfinite");
      if (c.type.feature === "temporal" && on("temporal-infinity") && !c.type.ddl.startsWith("time(")) used.add("temporal-infinity");
      if (c.type.feature === "temporal" && on("temporal-edge")) used.add("temporal-edge");
      if (c.type.ddl === "text[]" && on("array-unicode-space")) used.add("array-unicode-space");
      if (c.type.feature === "composite" && on("composite-numeric")) used.add("composite-numeric");
    }
    if (t.partitions > 0) used.add("partitioned");
    const cols = [
      ...t.key.map((k) => `${q(k.name)} ${KEY_DDL[k.keyType]} NOT NULL`),
      ...t.columns.map((c) => `${q(c.name)} ${c.type.ddl}${c.nullable ? "" : " NOT NULL"}`),
      ...(t.toast === undefined ? [] : [`${q(t.toast)} text${t.toastNotNull ? " NOT NULL" : ""}`]),
    ];
    // a schema-wide unique constraint name, so that SET SCHEMA never meets a same-named index (t1_pkey of a same-named table)
    const pkey = moves || multi ? `CONSTRAINT ${q(`pk_${nextName++}`)} ` : "";
    let sql = `CREATE TABLE ${ref(t)} (${cols.join(", ")}, ${pkey}PRIMARY KEY (${t.key.map((k) => q(k.name)).join(", ")}))`;
    if (t.partitions > 0) {
      sql += ` PARTITION BY HASH (${q(t.key[0]?.name ?? "k0")})`;
      for (let i = 0; i < t.partitions; i++)
        sql += `;\nCREATE TABLE ${q(t.schema.name)}.${q(`${t.name}_p${nextName++}`)} PARTITION OF ${ref(t)} FOR VALUES WITH (MODULUS ${t.partitions}, REMAINDER ${i})`;
    }
    if (t.toast !== undefined) sql += `;\nALTER TABLE ${ref(t)} ALTER COLUMN ${q(t.toast)} SET STORAGE EXTERNAL`;
    if (t.uidIndex !== undefined) sql += `;\nCREATE UNIQUE INDEX ${q(t.uidIndex)} ON ${ref(t)} ("uid")`;
    if (t.identity !== "default") {
      used.add("replica-identity");
      sql += `;\nALTER TABLE ${ref(t)} ${identitySql(t)}`;
    }
    return sql + ";";
  };

  const writable = (t: TableModel) => t.columns.filter((c) => c.role !== "generated");
  const toastValue = (r: Rng) => `repeat(${lit(randomText(r, 4) || "ab")}, ${r.int(1500, 4000)}) || ${lit(String(r.int(0, 1e9)))}`;
  const rowValues = (t: TableModel, id: number, r: Rng): string =>
    `(${[
      ...t.key.map((k, i) => keyValue(k.keyType, id, i)),
      ...writable(t).map((c) => (c.nullable && r.chance(0.2) ? "NULL" : c.type.value(r))),
      ...(t.toast === undefined ? [] : [!t.toastNotNull && r.chance(0.15) ? "NULL" : toastValue(r)]),
    ].join(", ")})`;
  const columnList = (t: TableModel) => [...t.key.map((k) => k.name), ...writable(t).map((c) => c.name), ...(t.toast === undefined ? [] : [t.toast])].map(q).join(", ");
  const insertSql = (t: TableModel, ids: readonly number[], r: Rng) => `INSERT INTO ${ref(t)} (${columnList(t)}) VALUES ${ids.map((id) => rowValues(t, id, r)).join(",\n  ")}`;
  const whereKey = (t: TableModel, id: number) => t.key.map((k, i) => `${q(k.name)} = ${keyValue(k.keyType, id, i)}`).join(" AND ");
  const whereIds = (t: TableModel, ids: readonly number[]) => ids.map((id) => `(${whereKey(t, id)})`).join(" OR ");
  const freshIds = (n: number) => Array.from({ length: n }, () => nextId++);

  /** SET clause: random non-key columns; includes the TOAST column unless updates next to unchanged TOAST are enabled. */
  const setClause = (t: TableModel, r: Rng): { sql: string; features: string[] } => {
    const features = ["core"];
    const chosen = t.columns.filter((c) => c.role !== "generated" && c.role !== "uid" && r.chance(0.5));
    const parts = chosen.map((c) => `${q(c.name)} = ${c.nullable && r.chance(0.15) ? "NULL" : c.type.value(r)}`);
    if (chosen.some((c) => c.role === "cat")) features.push("row-filter");
    if (t.toast !== undefined) {
      if (on("toast-update") && r.chance(0.7)) features.push("toast-update");
      else parts.push(`${q(t.toast)} = ${toastValue(r)}`);
    }
    if (parts.length === 0) {
      const c = t.columns.find((x) => x.role !== "generated" && x.role !== "uid");
      if (c !== undefined) parts.push(`${q(c.name)} = ${c.type.value(r)}`);
      else if (t.toast !== undefined) parts.push(`${q(t.toast)} = ${toastValue(r)}`);
      else parts.push(`${q(t.key[0]?.name ?? "k0")} = ${q(t.key[0]?.name ?? "k0")}`);
    }
    return { sql: parts.join(", "), features };
  };

  // snapshot-versus-stream twins: the same rows, one table written before the first run, one after
  const twinTable = makeTable("sv_snapshot", publicSchema);
  twinTable.toast = undefined;
  rowFilters.delete("public.sv_snapshot");
  const twinIds = freshIds(rng.int(3, 12));
  const twinRng = rng.fork("twin");
  const twinRows = twinIds.map((id) => rowValues(twinTable, id, twinRng));
  const twinStreamed: TableModel = { ...twinTable, name: "sv_streamed", live: [], uidIndex: twinTable.uidIndex === undefined ? undefined : `fzu_${nextName++}` };
  setup.push(step(`${createSql(twinTable)}\n${createSql(twinStreamed)}\nINSERT INTO ${ref(twinTable)} (${columnList(twinTable)}) VALUES ${twinRows.join(",\n  ")};`, [twinTable.name, twinStreamed.name], ["core"]));

  // the sink's bulk paths (gate bulk): a table past the deferred-key threshold at the snapshot (analyzed, so the
  // source estimates it), and later one insert transaction past the fast-path size; no random draws, so other seeds keep their workloads
  const bulk = on("bulk");
  if (bulk) setup.push(step(`${BULK_CREATE}\n${bulkInsert(1, BULK_SNAPSHOT_ROWS)};\nANALYZE public.${BULK_TABLE};`, [BULK_TABLE], ["bulk"]));

  const pickSchema = () => (multi ? rng.pick(includedSchemas) : publicSchema);
  for (let i = 0, n = rng.int(1, 3); i < n; i++) {
    const t = makeTable(`t${i + 1}`, pickSchema());
    tables.push(t);
    const ids = freshIds(rng.int(0, options.maxRows ?? 40));
    const features = ["core", ...(t.toast === undefined ? [] : ["toast"])];
    setup.push(step(createSql(t) + (ids.length > 0 ? `\n${insertSql(t, ids, rng)};` : ""), [t.name], features));
    t.live.push(...ids);
  }
  // the same table name in both included schemas (with other columns): the target must keep them apart
  const firstTable = tables[0];
  if (sameName && multi && firstTable !== undefined && rng.chance(options.focus?.("same-name-schemas") === true ? 0.95 : 0.7)) {
    const other = firstTable.schema === publicSchema ? secondSchema : publicSchema;
    const t = makeTable(firstTable.name, other);
    tables.push(t);
    const ids = freshIds(rng.int(1, options.maxRows ?? 40));
    setup.push(step(`${createSql(t)}\n${insertSql(t, ids, rng)};`, [t.name], ["core", "same-name-schemas"]));
    t.live.push(...ids);
  }
  const nameTaken = (schema: SchemaModel, name: string) => tables.some((x) => x.schema === schema && x.name === name);

  const actions: { readonly feature: string; readonly weight: number; readonly run: (t: TableModel) => Step | undefined }[] = [
    {
      feature: "core",
      weight: 6,
      run: (t) => {
        const ids = freshIds(rng.int(1, 15));
        t.live.push(...ids);
        return step(`${insertSql(t, ids, rng)};`, [t.name], t.toast === undefined ? ["core"] : ["core", "toast"]);
      },
    },
    {
      feature: "core",
      weight: 6,
      run: (t) => {
        if (t.live.length === 0) return undefined;
        const ids = rng.shuffle(t.live).slice(0, rng.int(1, 6));
        const set = setClause(t, rng);
        return step(`UPDATE ${ref(t)} SET ${set.sql} WHERE ${whereIds(t, ids)};`, [t.name], set.features);
      },
    },
    {
      feature: "core",
      weight: 3,
      run: (t) => {
        if (t.live.length === 0) return undefined;
        const ids = rng.shuffle(t.live).slice(0, rng.int(1, 4));
        t.live = t.live.filter((id) => !ids.includes(id));
        return step(`DELETE FROM ${ref(t)} WHERE ${whereIds(t, ids)};`, [t.name], ["core"]);
      },
    },
    {
      // many versions of one row in one transaction, then maybe its deletion
      feature: "core",
      weight: 2,
      run: (t) => {
        const [id] = freshIds(1) as [number];
        const parts = [`BEGIN`, insertSql(t, [id], rng)];
        for (let i = 0, n = rng.int(1, 4); i < n; i++) parts.push(`UPDATE ${ref(t)} SET ${setClause(t, rng).sql} WHERE ${whereKey(t, id)}`);
        if (rng.chance(0.3)) parts.push(`DELETE FROM ${ref(t)} WHERE ${whereKey(t, id)}`);
        else t.live.push(id);
        parts.push("COMMIT");
        return step(parts.join(";\n") + ";", [t.name], ["core"]);
      },
    },
    {
      feature: "core",
      weight: 2,
      run: (t) => {
        const ids = freshIds(rng.int(1, 5));
        const parts = [`BEGIN`, insertSql(t, ids, rng)];
        if (t.live.length > 0) parts.push(`DELETE FROM ${ref(t)} WHERE ${whereIds(t, rng.shuffle(t.live).slice(0, 2))}`);
        parts.push("ROLLBACK");
        return step(parts.join(";\n") + ";", [t.name], ["core"]);
      },
    },
    {
      feature: "key-update",
      weight: 2,
      run: (t) => {
        if (t.live.length === 0) return undefined;
        const old = rng.pick(t.live);
        const [id] = freshIds(1) as [number];
        t.live = [...t.live.filter((x) => x !== old), id];
        const sets = t.key.map((k, i) => `${q(k.name)} = ${keyValue(k.keyType, id, i)}`);
        const extra = t.toast !== undefined && !on("toast-update") ? [`${q(t.toast)} = ${toastValue(rng)}`] : [];
        return step(`UPDATE ${ref(t)} SET ${[...sets, ...extra].join(", ")} WHERE ${whereKey(t, old)};`, [t.name], ["key-update"]);
      },
    },
    {
      feature: "truncate",
      weight: 1,
      run: (t) => {
        t.live = [];
        return step(`TRUNCATE ${ref(t)};`, [t.name], ["truncate"]);
      },
    },
    {
      feature: "add-column",
      weight: 1,
      run: (t) => {
        const type = rng.pick(types);
        const name = newColumnName(type);
        t.columns.push({ name, type, nullable: true });
        return step(`ALTER TABLE ${ref(t)} ADD COLUMN ${q(name)} ${type.ddl};`, [t.name], ["add-column", type.feature]);
      },
    },
    {
      feature: "add-column-default",
      weight: 1,
      run: (t) => {
        const type = rng.pick(types);
        const name = newColumnName(type);
        const notNull = rng.chance(0.5);
        t.columns.push({ name, type, nullable: !notNull });
        return step(`ALTER TABLE ${ref(t)} ADD COLUMN ${q(name)} ${type.ddl} ${notNull ? "NOT NULL " : ""}DEFAULT ${type.value(rng)};`, [t.name], ["add-column-default", type.feature]);
      },
    },
    {
      feature: "drop-column",
      weight: 1,
      run: (t) => {
        if (t.columns.filter(plain).length < 2) return undefined;
        const c = rng.pick(t.columns.filter(plain));
        t.columns = t.columns.filter((x) => x !== c);
        return step(`ALTER TABLE ${ref(t)} DROP COLUMN ${q(c.name)};`, [t.name], ["drop-column"]);
      },
    },
    {
      feature: "drop-add-column",
      weight: 1,
      run: (t) => {
        const c = rng.pick(t.columns.filter(plain));
        if (c === undefined) return undefined;
        c.type = rng.pick(types);
        return step(`ALTER TABLE ${ref(t)} DROP COLUMN ${q(c.name)};\nALTER TABLE ${ref(t)} ADD COLUMN ${q(c.name)} ${c.type.ddl};`, [t.name], ["drop-add-column", c.type.feature]);
      },
    },
    {
      feature: "widen-column",
      weight: 1,
      run: (t) => {
        const c = rng.shuffle(t.columns.filter(plain)).find((x) => x.type.widen !== undefined);
        if (c?.type.widen === undefined) return undefined;
        c.type = c.type.widen();
        return step(`ALTER TABLE ${ref(t)} ALTER COLUMN ${q(c.name)} TYPE ${c.type.ddl};`, [t.name], ["widen-column"]);
      },
    },
    {
      feature: "alter-type-using",
      weight: 1,
      run: (t) => {
        const c = t.columns.find((x) => plain(x) && (x.type === int4Type || x.type === int2Type));
        if (c === undefined) return undefined;
        c.type = int8Type;
        return step(`ALTER TABLE ${ref(t)} ALTER COLUMN ${q(c.name)} TYPE int8 USING ${q(c.name)}::int8 * 1000;`, [t.name], ["alter-type-using"]);
      },
    },
    {
      feature: "rename-column",
      weight: 1,
      run: (t) => {
        const c = rng.pick(t.columns.filter(plain));
        if (c === undefined) return undefined;
        const old = c.name;
        c.name = `${old.replace(/_r\d+$/, "")}_r${nextName++}`;
        return step(`ALTER TABLE ${ref(t)} RENAME COLUMN ${q(old)} TO ${q(c.name)};`, [t.name], ["rename-column"]);
      },
    },
    {
      feature: "rename-table",
      weight: 1,
      run: (t) => {
        const old = t.name;
        const before = ref(t);
        t.name = `${old.replace(/_r\d+$/, "")}_r${nextName++}`;
        return step(`ALTER TABLE ${before} RENAME TO ${q(t.name)};`, [old, t.name], ["rename-table"]);
      },
    },
    {
      feature: "recreate-table",
      weight: 1,
      run: (t) => {
        const fresh = makeTable(t.name, t.schema);
        t.columns = fresh.columns;
        t.toast = fresh.toast;
        t.toastNotNull = fresh.toastNotNull;
        t.partitions = fresh.partitions;
        t.identity = fresh.identity;
        t.uidIndex = fresh.uidIndex;
        (t as { key: TableModel["key"] }).key = fresh.key;
        const ids = freshIds(rng.int(1, 10));
        t.live = ids;
        return step(`DROP TABLE ${ref(t)};\n${createSql(t)}\n${insertSql(t, ids, rng)};`, [t.name], ["recreate-table"]);
      },
    },
    {
      feature: "drop-table",
      weight: 1,
      run: (t) => {
        tables.splice(tables.indexOf(t), 1);
        return step(`DROP TABLE ${ref(t)};`, [t.name], ["drop-table"]);
      },
    },
    {
      // rows moving into and out of the row filter, leaving the TOAST value unchanged
      feature: "row-filter",
      weight: 3,
      run: (t) => {
        if (!t.columns.some((c) => c.role === "cat") || t.live.length === 0) return undefined;
        const ids = rng.shuffle(t.live).slice(0, rng.int(1, 4));
        return step(`UPDATE ${ref(t)} SET "fz_cat" = ${lit(rng.pick(["x", "y"]))} WHERE ${whereIds(t, ids)};`, [t.name], ["row-filter"]);
      },
    },
    {
      // a change of the identity index's column, or (replica-identity-change) another replica identity mid-run
      feature: "replica-identity",
      weight: 2,
      run: (t) => {
        if (t.uidIndex === undefined) return undefined;
        if (!on("replica-identity-change") || (t.live.length > 0 && rng.chance(0.4))) {
          if (t.live.length === 0) return undefined;
          const id = rng.pick(t.live);
          return step(`UPDATE ${ref(t)} SET "uid" = ${uidType.value(rng)} WHERE ${whereKey(t, id)};`, [t.name], ["replica-identity"]);
        }
        t.identity = rng.pick((["default", "full", "index"] as const).filter((x) => x !== t.identity));
        return step(`ALTER TABLE ${ref(t)} ${identitySql(t)};`, [t.name], ["replica-identity-change"]);
      },
    },
    {
      // a table leaves the filter (SET SCHEMA to an outside schema, or its schema renamed) and comes back
      feature: "schema-move",
      weight: 2,
      run: (t) => {
        if (!moves && !multi) return undefined;
        if (multi && rng.chance(0.3)) {
          const s = secondSchema;
          const old = s.name;
          s.name = s.name === s.home ? `${s.home}_x${nextName++}` : s.home;
          return step(`ALTER SCHEMA ${q(old)} RENAME TO ${q(s.name)};`, tables.filter((x) => x.schema === s).map((x) => x.name), ["schema-move"]);
        }
        const candidates = [...(moves ? [outside] : []), ...includedSchemas].filter((s) => s !== t.schema && !nameTaken(s, t.name));
        if (candidates.length === 0) return undefined;
        // a table outside goes back home more often than on to another schema
        const dest = t.schema === outside && rng.chance(0.7) ? (candidates.find((s) => s.included) ?? rng.pick(candidates)) : rng.pick(candidates);
        const before = ref(t);
        t.schema = dest;
        return step(`ALTER TABLE ${before} SET SCHEMA ${q(dest.name)};`, [t.name], ["schema-move"]);
      },
    },
  ];

  const createAction = (): Step => {
    const t = makeTable(`t${tables.length + nextName++}`, pickSchema());
    tables.push(t);
    const ids = freshIds(rng.int(1, 20));
    t.live.push(...ids);
    return step(`${createSql(t)}\n${insertSql(t, ids, rng)};`, [t.name], ["create-table"]);
  };

  const phases: Phase[] = [];
  const phaseCount = options.phases ?? rng.int(2, 3);
  const enabled = actions.filter((a) => on(a.feature));
  const weight = (a: { feature: string; weight: number }) => a.weight * (options.focus?.(a.feature) === true ? 8 : 1);
  const totalWeight = enabled.reduce((s, a) => s + weight(a), 0);
  for (let p = 0; p < phaseCount; p++) {
    const steps: Step[] = [];
    if (p === 0) steps.push(step(`INSERT INTO ${ref(twinStreamed)} (${columnList(twinStreamed)}) VALUES ${twinRows.join(",\n  ")};`, [twinStreamed.name], ["core"]));
    for (let i = 0, n = rng.int(3, 8); i < n; i++) {
      if (on("create-table") && rng.chance(options.focus?.("create-table") === true ? 0.4 : 0.08)) {
        steps.push(createAction());
        continue;
      }
      const t = tables.length === 0 ? undefined : rng.pick(tables);
      if (t === undefined) continue;
      let roll = rng.next() * totalWeight;
      const action = enabled.find((a) => (roll -= weight(a)) < 0) ?? enabled[0];
      const made = action?.run(t);
      if (made === undefined) continue;
      steps.push(made);
      // a schema change is seen by pgoutput only with the table's next row
      if (made.features.some((f) => f !== "core" && f !== "toast" && f !== "toast-update" && f !== "key-update" && f !== "truncate" && f !== "row-filter") && tables.includes(t)) {
        const ids = freshIds(rng.int(1, 3));
        t.live.push(...ids);
        steps.push(step(`${insertSql(t, ids, rng)};`, [t.name], ["core"]));
      }
    }
    const kill = on("kill") && rng.chance(0.5);
    phases.push({ steps, end: kill ? { kind: "kill", afterStep: rng.int(0, steps.length), delayMs: rng.int(0, 1500) } : { kind: "restart" } });
    if (kill) used.add("kill");
  }
  if (bulk) {
    // a phase of its own after the random ones (which stay the seed's): the transaction comes as two partial batches, the
    // first flushed alone (`batch.maxRows`); the run kills itself at the checkpoint after that flush, whose rows are then
    // committed at the target while the checkpoint is still before the transaction, so the next run's COPY meets their keys
    phases.push({
      steps: [step(`${bulkInsert(BULK_SNAPSHOT_ROWS + 1, BULK_SNAPSHOT_ROWS + BULK_STREAM_ROWS)};`, [BULK_TABLE], ["bulk"])],
      end: { kind: "self-kill", plan: `rows:table=public.${BULK_TABLE},op=insert>checkpoint` },
    });
  }
  // the row filter matters only for a table that has rows moving through it
  if (rowFilters.size > 0) used.add("row-filter");
  const filter = {
    ...(multi || moves ? { include: includedSchemas.map((s) => `${s.home}.*`) } : {}),
    ...(rowFilters.size > 0 ? { rows: Object.fromEntries([...rowFilters].map((t) => [t, ROW_FILTER])) } : {}),
  };
  const layout: PgLayout = {
    included: includedSchemas.map((s) => s.home),
    config: {
      ...(Object.keys(filter).length > 0 ? { filter } : {}),
      ...(explicitNaming ? { mapping: { tableNames: "schema_table" } } : {}),
      ...(bulk ? { batch: { maxRows: BULK_BATCH_ROWS } } : {}),
    },
    naming: multi && options.qualifiedNames !== false ? "schema_table" : "table",
    rowFilters,
  };
  return { setup, phases, twins: [[twinTable.name, twinStreamed.name]], usedFeatures: used, layout };
}
