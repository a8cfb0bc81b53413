import type { Rng } from "./prng.js";
import { canonicalDecimal } from "./canonical-value.js";
import { randomBytes, randomDigits, randomText } from "./random-values.js";
import type { FeatureCheck, Phase, Step, Workload } from "./workload.js";

/** A DynamoDB attribute value in DynamoDB JSON (wire format: binary as base64 strings). */
export type WireValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: Record<string, WireValue> }
  | { L: WireValue[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] };

/** A DynamoDB request as the generator writes it (and the reproduction prints it). */
export type DynamoRequest =
  | { op: "PutItem"; Item: Record<string, WireValue> }
  | { op: "UpdateItem"; Key: Record<string, WireValue>; UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, WireValue> }
  | { op: "DeleteItem"; Key: Record<string, WireValue> }
  | { op: "BatchWriteItem"; Puts: Record<string, WireValue>[]; Deletes: Record<string, WireValue>[] };

/** The table the workload runs against: key schema and unnest mode. */
export interface DynamoTableShape {
  readonly hashType: "S" | "N" | "B";
  readonly rangeType: "S" | "N" | "B" | undefined;
  readonly unnest: "none" | "top-level" | "all";
}

type Family = "S" | "N" | "B" | "BOOL" | "NULL" | "M" | "L" | "SS" | "NS" | "BS";

const NAMES = ["a", "b", "c", "d", "e", "f", "n", "m", "l", "s"];

/**
 * Generates a DynamoDB workload for one table: items with random attribute
 * values (as the gates allow), then phases of PutItem, UpdateItem
 * SET/REMOVE, DeleteItem and BatchWriteItem. Twin items (`snap#i` written
 * before the first run, `strm#i` after it) hold the same attributes.
 */
export function generateDynamoWorkload(options: { readonly rng: Rng; readonly on: FeatureCheck; readonly focus?: FeatureCheck | undefined }): Workload & { readonly shape: DynamoTableShape } {
  const { rng, on } = options;
  const used = new Set<string>(["core"]);
  const keyTypes: ("S" | "N" | "B")[] = on("binary") ? ["S", "N", "B"] : ["S", "N"];
  const hashType = rng.pick(keyTypes);
  const rangeType = rng.chance(0.5) ? rng.pick(keyTypes) : undefined;
  let unnest: DynamoTableShape["unnest"] = on("unnest-top-level") && rng.chance(0.6) ? "top-level" : "none";
  // a draw only when the gate is on, so other seeds keep their workloads
  if (on("unnest-all") && rng.chance(options.focus?.("unnest-all") === true ? 0.8 : 0.4)) unnest = "all";
  const shape: DynamoTableShape = { hashType, rangeType, unnest };
  if (shape.unnest === "top-level") used.add("unnest-top-level");
  if (shape.unnest === "all") used.add("unnest-all");
  // under `all` a map path keeps one type family for the whole seed (an object and a scalar at one path share a json column, which the comparator does not model)
  const pathFamilies = new Map<string, Family>();
  const families: Family[] = ["S", "N", "BOOL", "NULL", "M", "L"];
  if (on("binary")) families.push("B");
  if (on("sets")) families.push("SS", "NS", "BS");
  // without type changes, each attribute name keeps one type family for the whole seed
  const fixed = new Map(NAMES.map((n) => [n, rng.pick(families.filter((f) => f !== "BS" || on("binary")))]));

  const number = (r: Rng): string => {
    if (on("big-numbers") && r.chance(0.3)) {
      used.add("big-numbers");
      return r.pick(["99999999999999999999999999999999999999", "-12345678901234567890.123456789012345678", "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125", "0.000000000000000000000000000000000001", randomDigits(r, 38)]);
    }
    return r.pick(["0", "1", "-1", "1.5", "12.50", String(r.int(-100000, 100000)), `${r.int(0, 999)}.${randomDigits(r, 3)}`]);
  };
  const base64 = (r: Rng) => Buffer.from(randomBytes(r, 8)).toString("base64");
  const value = (family: Family, r: Rng, depth: number, path?: string): WireValue => {
    switch (family) {
      case "S":
        return { S: randomText(r, 10) };
      case "N":
        return { N: number(r) };
      case "B":
        return { B: base64(r) };
      case "BOOL":
        return { BOOL: r.chance(0.5) };
      case "NULL":
        return { NULL: true };
      case "M": {
        const n = on("empty-map") && r.chance(0.3) ? 0 : r.int(1, 3);
        if (n === 0) used.add("empty-map");
        const m: Record<string, WireValue> = {};
        for (let i = 0; i < n; i++) {
          const k = r.pick(["x", "y", "k é", "😀", "z"]);
          m[k] = nested(r, depth + 1, path === undefined ? undefined : `${path}.${k}`);
        }
        return { M: m };
      }
      case "L": {
        const n = on("empty-list") && r.chance(0.3) ? 0 : r.int(1, 3);
        if (n === 0) used.add("empty-list");
        return { L: Array.from({ length: n }, () => nested(r, depth + 1)) };
      }
      case "SS":
        return { SS: [...new Set(Array.from({ length: r.int(1, 4) }, () => randomText(r, 6) || "s"))] };
      case "NS":
      {
        // a number set may not hold two spellings of one number (1.5 and 1.50)
        const seen = new Map<string, string>();
        for (let i = 0, n = r.int(1, 4); i < n; i++) {
          const v = number(r);
          seen.set(canonicalDecimal(v), v);
        }
        return { NS: [...seen.values()] };
      }
      case "BS":
        return { BS: [...new Set(Array.from({ length: r.int(1, 3) }, () => Buffer.from([r.int(0, 255), r.int(0, 255), r.int(0, 255)]).toString("base64")))] };
    }
  };
  const nested = (r: Rng, depth: number, path?: string): WireValue => {
    const choices: Family[] = depth >= 3 ? ["S", "N", "BOOL"] : ["S", "N", "BOOL", "M", "L"];
    if (path !== undefined) {
      if (on("null-in-list") && r.chance(0.1)) {
        used.add("null-in-list");
        return { NULL: true };
      }
      let family = pathFamilies.get(path);
      if (family === undefined) {
        family = r.pick(choices);
        pathFamilies.set(path, family);
      }
      return value(family, r, depth, path);
    }
    if (on("null-in-list")) choices.push("NULL");
    const f = r.pick(choices);
    if (f === "NULL") used.add("null-in-list");
    return value(f, r, depth);
  };
  // under `all` a type change keeps a map attribute a map and never turns another attribute into a
  // map (the one-family rule above holds at the top level too): an object and a scalar at one path
  // share one json column, and which of them comes first decides how the object lands (docs/fidelity.md)
  const notMaps = families.filter((f) => f !== "M");
  const changeTo = (name: string): readonly Family[] => (shape.unnest !== "all" ? families : fixed.get(name) === "M" ? ["M"] : notMaps);
  const attribute = (name: string, r: Rng): WireValue => {
    const family = on("type-change") && r.chance(0.3) ? r.pick(changeTo(name)) : (fixed.get(name) ?? "S");
    if (family !== fixed.get(name)) used.add("type-change");
    if (family === "B" || family === "BS") used.add("binary");
    if (family === "SS" || family === "NS" || family === "BS") used.add("sets");
    return value(family, r, 0, shape.unnest === "all" ? name : undefined);
  };
  const keyValue = (type: "S" | "N" | "B", id: number, part: number): WireValue => {
    if (type === "S") return { S: `k${id}-${part}${["", "é", "😀"][id % 3] ?? ""}` };
    if (type === "N") return { N: part === 0 ? String(id * 7) : `${id}.${part}5` };
    return { B: Buffer.from([part, id >> 8, id & 255]).toString("base64") };
  };
  const key = (id: number): Record<string, WireValue> => ({
    pk: keyValue(shape.hashType, id, 0),
    ...(shape.rangeType === undefined ? {} : { sk: keyValue(shape.rangeType, id, 1) }),
  });
  const item = (id: number, r: Rng): Record<string, WireValue> => {
    const out: Record<string, WireValue> = { ...key(id) };
    for (const n of r.shuffle(NAMES).slice(0, r.int(1, 6))) out[n] = attribute(n, r);
    return out;
  };

  let nextId = 1;
  const live: number[] = [];
  const step = (request: DynamoRequest, features: readonly string[]): Step => {
    for (const f of features) used.add(f);
    return { text: JSON.stringify(request), tables: ["items"], features };
  };
  const setup: Step[] = [];
  // twins: ids 1..n written before the first run, ids 1001..1000+n after it, same attributes
  const twinCount = rng.int(2, 6);
  const twinRng = rng.fork("twin");
  const twinItems = Array.from({ length: twinCount }, (_, i) => item(i + 1, twinRng));
  const restOf = (full: Record<string, WireValue>) => Object.fromEntries(Object.entries(full).filter(([k]) => k !== "pk" && k !== "sk"));
  for (const t of twinItems) setup.push(step({ op: "PutItem", Item: t }, ["core"]));
  nextId = 2001;
  for (let i = 0, n = rng.int(0, 30); i < n; i++) {
    const id = nextId++;
    live.push(id);
    setup.push(step({ op: "PutItem", Item: item(id, rng) }, ["core"]));
  }

  const actions: { feature: string; weight: number; run: () => Step | undefined }[] = [
    {
      feature: "core",
      weight: 5,
      run: () => {
        const id = live.length > 0 && rng.chance(0.3) ? rng.pick(live) : nextId++;
        if (!live.includes(id)) live.push(id);
        return step({ op: "PutItem", Item: item(id, rng) }, ["core"]);
      },
    },
    {
      feature: "core",
      weight: 5,
      run: () => {
        if (live.length === 0) return undefined;
        const id = rng.pick(live);
        const names = rng.shuffle(NAMES);
        const set = names.slice(0, rng.int(0, 3));
        const remove = names.slice(3, 3 + rng.int(set.length === 0 ? 1 : 0, 2));
        const ExpressionAttributeNames: Record<string, string> = {};
        const ExpressionAttributeValues: Record<string, WireValue> = {};
        const parts: string[] = [];
        if (set.length > 0) parts.push(`SET ${set.map((n, i) => `#s${i} = :v${i}`).join(", ")}`);
        set.forEach((n, i) => {
          ExpressionAttributeNames[`#s${i}`] = n;
          ExpressionAttributeValues[`:v${i}`] = attribute(n, rng);
        });
        if (remove.length > 0) parts.push(`REMOVE ${remove.map((_, i) => `#r${i}`).join(", ")}`);
        remove.forEach((n, i) => (ExpressionAttributeNames[`#r${i}`] = n));
        return step(
          { op: "UpdateItem", Key: key(id), UpdateExpression: parts.join(" "), ExpressionAttributeNames, ...(set.length > 0 ? { ExpressionAttributeValues } : {}) },
          remove.length > 0 ? ["core", "remove-attribute"] : ["core"],
        );
      },
    },
    {
      feature: "core",
      weight: 2,
      run: () => {
        if (live.length === 0) return undefined;
        const id = rng.pick(live);
        live.splice(live.indexOf(id), 1);
        return step({ op: "DeleteItem", Key: key(id) }, ["core"]);
      },
    },
    {
      feature: "batch-write",
      weight: 2,
      run: () => {
        const puts = Array.from({ length: rng.int(1, 8) }, () => nextId++);
        const deletes = rng.shuffle(live).slice(0, rng.int(0, 2));
        for (const d of deletes) live.splice(live.indexOf(d), 1);
        live.push(...puts);
        return step({ op: "BatchWriteItem", Puts: puts.map((id) => item(id, rng)), Deletes: deletes.map(key) }, ["batch-write"]);
      },
    },
  ];
  const enabled = actions.filter((a) => on(a.feature));
  const weight = (a: { feature: string; weight: number }) => a.weight * (options.focus?.(a.feature) === true ? 8 : 1);
  const total = enabled.reduce((s, a) => s + weight(a), 0);
  const phases: Phase[] = [];
  for (let p = 0, n = rng.int(2, 3); p < n; p++) {
    const steps: Step[] = [];
    if (p === 0) for (const [i, t] of twinItems.entries()) steps.push(step({ op: "PutItem", Item: { ...key(1001 + i), ...restOf(t) } }, ["core"]));
    for (let i = 0, m = rng.int(4, 10); i < m; i++) {
      let roll = rng.next() * total;
      const made = (enabled.find((a) => (roll -= weight(a)) < 0) ?? enabled[0])?.run();
      if (made !== undefined) steps.push(made);
    }
    const kill = on("kill") && rng.chance(0.5);
    if (kill) used.add("kill");
    phases.push({ steps, end: kill ? { kind: "kill", afterStep: rng.int(0, steps.length), delayMs: rng.int(500, 2500) } : { kind: "restart" } });
  }
  used.delete("remove-attribute");
  return { setup, phases, twins: twinItems.map((_, i) => [JSON.stringify(key(i + 1)), JSON.stringify(key(1001 + i))] as const), usedFeatures: used, shape };
}
