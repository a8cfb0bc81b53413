import type { Rng } from "./prng.js";
import { randomBytes, randomDate, randomDecimal, randomDigits, randomDouble, randomFloat, randomJson, randomText, randomTimeOfDay } from "./random-values.js";
import type { FeatureCheck, Phase, Step, Workload } from "./workload.js";

/** A MySQL/MariaDB column type the generator can make values for. */
interface MysqlType {
  readonly feature: string;
  readonly ddl: string;
  value(rng: Rng): string;
  /** MODIFY target for a widening. */
  readonly widen?: () => MysqlType;
  /** Values of this type are left NULL in rows written before the first run unless this gate is on. */
  readonly snapshotFeature?: string;
}

interface ColumnModel {
  name: string;
  type: MysqlType;
  nullable: boolean;
}

type KeyType = "int" | "bigint" | "varchar" | "date" | "decimal";

interface TableModel {
  name: string;
  key: { readonly name: string; readonly keyType: KeyType }[];
  columns: ColumnModel[];
  live: number[];
  /** The key is a UNIQUE KEY on NOT NULL columns instead of a PRIMARY KEY. */
  uniqueOnly: boolean;
}

const q = (name: string) => `\`${name.replace(/`/g, "``")}\``;
/** A string literal for MariaDB with the default sql_mode (backslash is an escape character). */
const lit = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
const KEY_DDL: Record<KeyType, string> = { int: "INT", bigint: "BIGINT UNSIGNED", varchar: "VARCHAR(40)", date: "DATE", decimal: "DECIMAL(20,4)" };

function keyValue(keyType: KeyType, id: number, index: number): string {
  switch (keyType) {
    case "int":
      return String(id * 3 + index);
    case "bigint":
      return String(18446744073709551615n - BigInt(id) * 1000003n - BigInt(index));
    case "varchar":
      return lit(`k${id}-${["", "é", "😀", "中", "'"][(id + index) % 5] ?? ""}`);
    case "date":
      return lit(new Date(Date.UTC(2000, 0, 1) + (id * 3 + index) * 86_400_000).toISOString().slice(0, 10));
    case "decimal":
      return `${id}.${String(index).padStart(3, "0")}5`;
  }
}

/** The type of a column that was part of the primary key until a `change-primary-key` step: values like the key's, no longer unique. */
function demotedKeyType(keyType: KeyType, index: number): MysqlType {
  return { feature: "core", ddl: KEY_DDL[keyType], value: (rng) => keyValue(keyType, rng.int(1, 100_000), index) };
}

function intType(ddl: string, min: bigint, max: bigint, widen?: () => MysqlType): MysqlType {
  return {
    feature: "core",
    ddl,
    value: (rng) => {
      if (rng.chance(0.3)) return rng.pick([String(min), String(max), "0"]);
      if (max <= 9007199254740991n) return String(rng.int(Number(min), Number(max)));
      const magnitude = BigInt(rng.int(0, 2147483647)) * BigInt(rng.int(0, 2147483647));
      return String(min < 0n && rng.chance(0.5) ? -magnitude : magnitude);
    },
    ...(widen === undefined ? {} : { widen }),
  };
}

function decimalType(p: number, s: number): MysqlType {
  return { feature: "core", ddl: `DECIMAL(${p},${s})`, value: (rng) => randomDecimal(rng, p, s), widen: () => decimalType(Math.min(65, p + 5), s) };
}

function varcharType(n: number): MysqlType {
  return { feature: "core", ddl: `VARCHAR(${n})`, value: (rng) => lit(randomText(rng, n)), widen: () => varcharType(n * 2) };
}

function mysqlTypes(on: FeatureCheck): MysqlType[] {
  const bigint = intType("BIGINT", -9223372036854775808n, 9223372036854775807n);
  const int = intType("INT", -2147483648n, 2147483647n, () => bigint);
  const pad = (n: number) => String(n).padStart(2, "0");
  const all: MysqlType[] = [
    intType("TINYINT", -128n, 127n, () => int),
    intType("TINYINT UNSIGNED", 0n, 255n),
    intType("SMALLINT", -32768n, 32767n, () => int),
    intType("MEDIUMINT", -8388608n, 8388607n, () => int),
    int,
    intType("INT UNSIGNED", 0n, 4294967295n),
    bigint,
    intType("BIGINT UNSIGNED", 0n, 18446744073709551615n),
    decimalType(10, 2),
    decimalType(65, 30),
    decimalType(5, 5),
    varcharType(8),
    { feature: "core", ddl: "TEXT", value: (rng) => lit(randomText(rng, 30)) },
    { feature: "core", ddl: "VARBINARY(16)", value: (rng) => `X'${Buffer.from(randomBytes(rng, 16)).toString("hex")}'` },
    { feature: "core", ddl: "BLOB", value: (rng) => `X'${Buffer.from(randomBytes(rng, 40)).toString("hex")}'` },
    { feature: "core", ddl: "ENUM('a','b','c é','')", value: (rng) => lit(rng.pick(["a", "b", "c é", ""])) },
    { feature: "core", ddl: "SET('x','y','z')", value: (rng) => lit(rng.pick(["", "x", "x,z", "x,y,z"])) },
    { feature: "core", ddl: "DATE", value: (rng) => lit(on("temporal-edge") && rng.chance(0.2) ? rng.pick(["1000-01-01", "9999-12-31"]) : randomDate(rng)) },
    {
      feature: "core",
      ddl: "DATETIME(6)",
      value: (rng) => lit(on("temporal-edge") && rng.chance(0.2) ? rng.pick(["9999-12-31 23:59:59.999999", "1000-01-01 00:00:00"]) : `${randomDate(rng)} ${randomTimeOfDay(rng)}`),
    },
    {
      feature: "timestamp",
      ddl: "TIMESTAMP(6)",
      value: (rng) =>
        lit(
          on("temporal-edge") && rng.chance(0.2)
            ? rng.pick(["2038-01-19 03:14:07.999999", "1970-01-01 00:00:01"])
            : `${new Date(Date.UTC(1971, 0, 1) + rng.int(0, 24000) * 86_400_000).toISOString().slice(0, 10)} ${randomTimeOfDay(rng)}`,
        ),
    },
    { feature: "double", ddl: "DOUBLE", value: (rng) => String(randomDouble(rng)), snapshotFeature: "double-snapshot" },
    { feature: "double", ddl: "FLOAT", value: (rng) => String(randomFloat(rng)) },
    {
      feature: "time",
      ddl: "TIME(6)",
      value: (rng) =>
        lit(rng.chance(0.2) ? rng.pick(["-838:59:59.000000", "838:59:59.000000", "00:00:00"]) : `${rng.chance(0.3) ? "-" : ""}${rng.int(0, 838)}:${pad(rng.int(0, 59))}:${pad(rng.int(0, 59))}.${randomDigits(rng, 6)}`),
    },
    { feature: "year", ddl: "YEAR", value: (rng) => String(rng.pick([1901, 2155, rng.int(1901, 2155)])) },
    {
      feature: "bit",
      ddl: "BIT(1)",
      value: (rng) => `b'${rng.int(0, 1)}'`,
    },
    {
      feature: "bit",
      ddl: "BIT(64)",
      value: (rng) => `b'${Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 1)).join("")}'`,
    },
    { feature: "json", ddl: "JSON", value: (rng) => lit(randomJson(rng)) },
  ];
  return all.filter((t) => on(t.feature));
}

/**
 * Generates a random MariaDB workload (see `generatePgWorkload` for the
 * shape): MySQL's types, DML, and the DDL enabled by the gates, including
 * the online-schema-change swap of gh-ost/pt-osc.
 */
export function generateMysqlWorkload(options: { readonly rng: Rng; readonly on: FeatureCheck; readonly focus?: FeatureCheck | undefined }): Workload {
  const { rng, on } = options;
  const used = new Set<string>();
  const types = mysqlTypes(on);
  const keyTypes: KeyType[] = ["int", "bigint", "varchar", "date", "decimal"];
  let nextId = 1;
  let nextName = 1;
  const tables: TableModel[] = [];
  const step = (text: string, tableNames: readonly string[], features: readonly string[]): Step => {
    for (const f of features) used.add(f);
    return { text, tables: tableNames, features };
  };
  const newColumnName = (type: MysqlType) => `c${nextName++}_${type.ddl.toLowerCase().replace(/\(.*$/, "").replace(/[^a-z0-9]+/g, "_")}`;
  const makeTable = (name: string): TableModel => {
    const key = Array.from({ length: rng.int(1, 3) }, (_, i) => ({ name: `k${i}`, keyType: rng.pick(keyTypes) }));
    const columns: ColumnModel[] = [];
    for (let i = 0, n = rng.int(2, 7); i < n; i++) {
      const type = rng.pick(types);
      columns.push({ name: newColumnName(type), type, nullable: rng.chance(0.7) });
    }
    return { name, key, columns, live: [], uniqueOnly: on("unique-key-only") && rng.chance(0.3) };
  };
  const columnDdl = (c: ColumnModel) => `${q(c.name)} ${c.type.ddl} ${c.nullable ? "NULL" : "NOT NULL"}`;
  const createSql = (t: TableModel) => {
    for (const c of t.columns) {
      used.add(c.type.feature);
      // value-level gates ride on their type's columns (reported only; draws nothing)
      if (c.type.snapshotFeature !== undefined && on(c.type.snapshotFeature)) used.add(c.type.snapshotFeature);
      if (/^(DATE|DATETIME\(6\)|TIMESTAMP\(6\))$/.test(c.type.ddl) && on("temporal-edge")) used.add("temporal-edge");
    }
    return `CREATE TABLE ${q(t.name)} (${[...t.key.map((k) => `${q(k.name)} ${KEY_DDL[k.keyType]} NOT NULL`), ...t.columns.map(columnDdl)].join(", ")}, ${t.uniqueOnly ? "UNIQUE KEY" : "PRIMARY KEY"} (${t.key.map((k) => q(k.name)).join(", ")}));`;
  };
  const rowValues = (t: TableModel, id: number, r: Rng, snapshot: boolean) =>
    `(${[
      ...t.key.map((k, i) => keyValue(k.keyType, id, i)),
      ...t.columns.map((c) => {
        const held = snapshot && c.type.snapshotFeature !== undefined && !on(c.type.snapshotFeature);
        if (held && c.nullable) return "NULL";
        if (c.nullable && r.chance(0.2)) return "NULL";
        return held ? "0" : c.type.value(r);
      }),
    ].join(", ")})`;
  const columnList = (t: TableModel) => [...t.key.map((k) => k.name), ...t.columns.map((c) => c.name)].map(q).join(", ");
  const insertSql = (t: TableModel, ids: readonly number[], r: Rng, snapshot = false) =>
    `INSERT INTO ${q(t.name)} (${columnList(t)}) VALUES ${ids.map((id) => rowValues(t, id, r, snapshot)).join(",\n  ")}`;
  const whereKey = (t: TableModel, id: number) => t.key.map((k, i) => `${q(k.name)} = ${keyValue(k.keyType, id, i)}`).join(" AND ");
  const whereIds = (t: TableModel, ids: readonly number[]) => ids.map((id) => `(${whereKey(t, id)})`).join(" OR ");
  const freshIds = (n: number) => Array.from({ length: n }, () => nextId++);
  const setClause = (t: TableModel, r: Rng) => {
    const parts = t.columns.filter(() => r.chance(0.5)).map((c) => `${q(c.name)} = ${c.nullable && r.chance(0.15) ? "NULL" : c.type.value(r)}`);
    if (parts.length === 0) {
      const c = t.columns[0];
      parts.push(c === undefined ? `${q("k0")} = ${q("k0")}` : `${q(c.name)} = ${c.type.value(r)}`);
    }
    return parts.join(", ");
  };

  const setup: Step[] = [];
  const twin = makeTable("sv_snapshot");
  twin.uniqueOnly = false;
  const twinRng = rng.fork("twin");
  const twinRows = freshIds(rng.int(3, 12)).map((id) => rowValues(twin, id, twinRng, true));
  const twinStreamed: TableModel = { ...twin, name: "sv_streamed" };
  setup.push(step(`${createSql(twin)}\n${createSql(twinStreamed)}\nINSERT INTO ${q(twin.name)} (${columnList(twin)}) VALUES ${twinRows.join(",\n  ")};`, [twin.name, twinStreamed.name], ["core"]));
  for (let i = 0, n = rng.int(1, 3); i < n; i++) {
    const t = makeTable(`t${i + 1}`);
    tables.push(t);
    const ids = freshIds(rng.int(0, 40));
    setup.push(step(createSql(t) + (ids.length > 0 ? `\n${insertSql(t, ids, rng, true)};` : ""), [t.name], t.uniqueOnly ? ["core", "unique-key-only"] : ["core"]));
    t.live.push(...ids);
  }

  const actions: { readonly feature: string; readonly weight: number; readonly run: (t: TableModel) => Step | undefined }[] = [
    {
      feature: "core",
      weight: 6,
      run: (t) => {
        const ids = freshIds(rng.int(1, 15));
        t.live.push(...ids);
        return step(`${insertSql(t, ids, rng)};`, [t.name], ["core"]);
      },
    },
    {
      feature: "core",
      weight: 6,
      run: (t) => (t.live.length === 0 ? undefined : step(`UPDATE ${q(t.name)} SET ${setClause(t, rng)} WHERE ${whereIds(t, rng.shuffle(t.live).slice(0, rng.int(1, 6)))};`, [t.name], ["core"])),
    },
    {
      feature: "core",
      weight: 3,
      run: (t) => {
        if (t.live.length === 0) return undefined;
        const ids = rng.shuffle(t.live).slice(0, rng.int(1, 4));
        t.live = t.live.filter((id) => !ids.includes(id));
        return step(`DELETE FROM ${q(t.name)} WHERE ${whereIds(t, ids)};`, [t.name], ["core"]);
      },
    },
    {
      feature: "core",
      weight: 2,
      run: (t) => {
        const [id] = freshIds(1) as [number];
        const parts = ["START TRANSACTION", insertSql(t, [id], rng)];
        for (let i = 0, n = rng.int(1, 4); i < n; i++) parts.push(`UPDATE ${q(t.name)} SET ${setClause(t, rng)} WHERE ${whereKey(t, id)}`);
        if (rng.chance(0.3)) parts.push(`DELETE FROM ${q(t.name)} WHERE ${whereKey(t, id)}`);
        else t.live.push(id);
        parts.push("COMMIT");
        return step(parts.join(";\n") + ";", [t.name], ["core"]);
      },
    },
    {
      feature: "core",
      weight: 2,
      run: (t) => {
        const parts = ["START TRANSACTION", insertSql(t, freshIds(rng.int(1, 5)), rng)];
        if (t.live.length > 0) parts.push(`DELETE FROM ${q(t.name)} WHERE ${whereIds(t, rng.shuffle(t.live).slice(0, 2))}`);
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
        return step(`UPDATE ${q(t.name)} SET ${t.key.map((k, i) => `${q(k.name)} = ${keyValue(k.keyType, id, i)}`).join(", ")} WHERE ${whereKey(t, old)};`, [t.name], ["key-update"]);
      },
    },
    {
      feature: "truncate",
      weight: 1,
      run: (t) => {
        t.live = [];
        return step(`TRUNCATE TABLE ${q(t.name)};`, [t.name], ["truncate"]);
      },
    },
    {
      feature: "add-column",
      weight: 1,
      run: (t) => {
        const type = rng.pick(types);
        const c = { name: newColumnName(type), type, nullable: true };
        t.columns.push(c);
        return step(`ALTER TABLE ${q(t.name)} ADD COLUMN ${columnDdl(c)};`, [t.name], ["add-column", type.feature]);
      },
    },
    {
      feature: "add-column-default",
      weight: 1,
      run: (t) => {
        const c = { name: `c${nextName++}_int_d`, type: intType("INT", -2147483648n, 2147483647n), nullable: false };
        t.columns.push(c);
        const where = rng.pick(["", " FIRST", ` AFTER ${q(t.key[0]?.name ?? "k0")}`]);
        return step(`ALTER TABLE ${q(t.name)} ADD COLUMN ${q(c.name)} INT NOT NULL DEFAULT ${rng.int(-100, 100)}${where};`, [t.name], ["add-column-default"]);
      },
    },
    {
      feature: "drop-column",
      weight: 1,
      run: (t) => {
        if (t.columns.length < 2) return undefined;
        const c = rng.pick(t.columns);
        t.columns = t.columns.filter((x) => x !== c);
        return step(`ALTER TABLE ${q(t.name)} DROP COLUMN ${q(c.name)};`, [t.name], ["drop-column"]);
      },
    },
    {
      feature: "widen-column",
      weight: 1,
      run: (t) => {
        const c = rng.shuffle(t.columns).find((x) => x.type.widen !== undefined);
        if (c?.type.widen === undefined) return undefined;
        c.type = c.type.widen();
        return step(`ALTER TABLE ${q(t.name)} MODIFY ${columnDdl(c)};`, [t.name], ["widen-column"]);
      },
    },
    {
      feature: "rename-column",
      weight: 1,
      run: (t) => {
        const c = rng.pick(t.columns);
        if (c === undefined) return undefined;
        const old = c.name;
        c.name = `${old.replace(/_r\d+$/, "")}_r${nextName++}`;
        return step(`ALTER TABLE ${q(t.name)} RENAME COLUMN ${q(old)} TO ${q(c.name)};`, [t.name], ["rename-column"]);
      },
    },
    {
      feature: "rename-table",
      weight: 1,
      run: (t) => {
        const old = t.name;
        t.name = `${old.replace(/_r\d+$/, "")}_r${nextName++}`;
        return step(`RENAME TABLE ${q(old)} TO ${q(t.name)};`, [old, t.name], ["rename-table"]);
      },
    },
    {
      feature: "osc-swap",
      weight: 1,
      run: (t) => {
        const gho = `_${t.name}_gho`;
        const del = `_${t.name}_del`;
        const before = columnList(t);
        const c = { name: `c${nextName++}_osc`, type: intType("INT", -2147483648n, 2147483647n), nullable: false };
        t.columns.push(c);
        return step(
          [
            `CREATE TABLE ${q(gho)} LIKE ${q(t.name)}`,
            `ALTER TABLE ${q(gho)} ADD COLUMN ${q(c.name)} INT NOT NULL DEFAULT 7`,
            `INSERT INTO ${q(gho)} (${before}) SELECT ${before} FROM ${q(t.name)}`,
            `RENAME TABLE ${q(t.name)} TO ${q(del)}, ${q(gho)} TO ${q(t.name)}`,
            `DROP TABLE ${q(del)}`,
          ].join(";\n") + ";",
          [t.name, gho, del],
          ["osc-swap"],
        );
      },
    },
    {
      feature: "change-primary-key",
      weight: 1,
      run: (t) => {
        if (t.uniqueOnly || t.key.length < 2) return undefined;
        // the former key columns stay in the table (NOT NULL, no default): rows written from now on must still set them
        const demoted = t.key.slice(1).map((k, i) => ({ name: k.name, type: demotedKeyType(k.keyType, i + 1), nullable: false }));
        t.key = t.key.slice(0, 1);
        t.columns.unshift(...demoted);
        return step(`ALTER TABLE ${q(t.name)} DROP PRIMARY KEY, ADD PRIMARY KEY (${q(t.key[0]?.name ?? "k0")});`, [t.name], ["change-primary-key"]);
      },
    },
    {
      feature: "recreate-table",
      weight: 1,
      run: (t) => {
        const fresh = makeTable(t.name);
        Object.assign(t, { key: fresh.key, columns: fresh.columns, uniqueOnly: fresh.uniqueOnly });
        const ids = freshIds(rng.int(1, 10));
        t.live = ids;
        return step(`DROP TABLE ${q(t.name)};\n${createSql(t)}\n${insertSql(t, ids, rng)};`, [t.name], ["recreate-table"]);
      },
    },
  ];
  const enabled = actions.filter((a) => on(a.feature));
  const weight = (a: { feature: string; weight: number }) => a.weight * (options.focus?.(a.feature) === true ? 8 : 1);
  const totalWeight = enabled.reduce((s, a) => s + weight(a), 0);
  const phases: Phase[] = [];
  for (let p = 0, n = rng.int(2, 3); p < n; p++) {
    const steps: Step[] = [];
    if (p === 0) steps.push(step(`INSERT INTO ${q(twinStreamed.name)} (${columnList(twinStreamed)}) VALUES ${twinRows.join(",\n  ")};`, [twinStreamed.name], ["core"]));
    for (let i = 0, m = rng.int(3, 8); i < m; i++) {
      if (on("create-table") && rng.chance(options.focus?.("create-table") === true ? 0.4 : 0.08)) {
        const t = makeTable(`t${tables.length + nextName++}`);
        tables.push(t);
        const ids = freshIds(rng.int(1, 20));
        t.live.push(...ids);
        steps.push(step(`${createSql(t)}\n${insertSql(t, ids, rng)};`, [t.name], ["create-table"]));
        continue;
      }
      const t = tables.length === 0 ? undefined : rng.pick(tables);
      if (t === undefined) continue;
      let roll = rng.next() * totalWeight;
      const action = enabled.find((a) => (roll -= weight(a)) < 0) ?? enabled[0];
      const made = action?.run(t);
      if (made !== undefined) steps.push(made);
    }
    const kill = on("kill") && rng.chance(0.5);
    if (kill) used.add("kill");
    phases.push({ steps, end: kill ? { kind: "kill", afterStep: rng.int(0, steps.length), delayMs: rng.int(0, 1500) } : { kind: "restart" } });
  }
  return { setup, phases, twins: [[twin.name, twinStreamed.name]], usedFeatures: used };
}
