import { canonicalDecimal, jsonTreeText, parseJsonTree, type JsonTree } from "./canonical-value.js";
import type { WireValue } from "./dynamodb-workload-generator.js";

type Av = Record<string, unknown>;

const b64 = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : String(v));
const byText = (a: JsonTree, b: JsonTree) => (jsonTreeText(a) < jsonTreeText(b) ? -1 : jsonTreeText(a) > jsonTreeText(b) ? 1 : 0);

/**
 * A DynamoDB attribute value (SDK or wire form) as the JSON tree of the
 * documented document layout: N as an exact number, B as base64, sets as
 * lists (sorted here by canonical text; `sortSetsLike` sorts the target's
 * copy the same way, since set order carries no meaning).
 */
export function attributeTree(av: Av | WireValue): JsonTree {
  const a = av as Av;
  if ("S" in a) return String(a.S);
  if ("N" in a) return { number: canonicalDecimal(String(a.N)) };
  if ("B" in a) return b64(a.B);
  if ("BOOL" in a) return Boolean(a.BOOL);
  if ("NULL" in a) return null;
  if ("M" in a) return { object: new Map(Object.entries(a.M as Record<string, Av>).map(([k, v]) => [k, attributeTree(v)])) };
  if ("L" in a) return (a.L as Av[]).map(attributeTree);
  if ("SS" in a) return (a.SS as string[]).map((s): JsonTree => s).sort(byText);
  if ("NS" in a) return (a.NS as string[]).map((n): JsonTree => ({ number: canonicalDecimal(n) })).sort(byText);
  if ("BS" in a) return (a.BS as unknown[]).map((v): JsonTree => b64(v)).sort(byText);
  // an attribute value with no known member (what the issue saw for an empty map in a stream record)
  return `!unknown attribute value ${JSON.stringify(Object.keys(a))}`;
}

/** Sorts the lists of a target JSON tree where the source attribute is a set; recurses through maps and lists. */
export function sortSetsLike(tree: JsonTree, av: Av | WireValue): JsonTree {
  const a = av as Av;
  if (("SS" in a || "NS" in a || "BS" in a) && Array.isArray(tree)) return [...(tree as JsonTree[])].sort(byText);
  if ("M" in a && tree !== null && typeof tree === "object" && "object" in tree) {
    const m = a.M as Record<string, Av>;
    return { object: new Map([...tree.object].map(([k, v]) => [k, m[k] === undefined ? v : sortSetsLike(v, m[k])])) };
  }
  if ("L" in a && Array.isArray(tree)) {
    const l = a.L as Av[];
    return (tree as JsonTree[]).map((v, i) => (l[i] === undefined ? v : sortSetsLike(v, l[i])));
  }
  return tree;
}

/** A key attribute's canonical text: S as is, N canonical decimal, B hex. */
export function keyText(av: Av | WireValue): string {
  const a = av as Av;
  if ("S" in a) return String(a.S);
  if ("N" in a) return canonicalDecimal(String(a.N));
  if ("B" in a) return Buffer.from(a.B instanceof Uint8Array ? a.B : Buffer.from(String(a.B), "base64")).toString("hex");
  return "!unknown key";
}

/** A target key column value as read through `to_jsonb` (text, numeric, or bytea as `\x…`) in the same canonical text. */
export function targetKeyText(value: JsonTree): string {
  if (typeof value === "string") return value.startsWith("\\x") ? value.slice(2) : value;
  if (value !== null && typeof value === "object" && "number" in value) return value.number;
  return `!${jsonTreeText(value)}`;
}

/** Parses JSON text, or returns a marker tree for invalid text. */
export function treeOf(text: string): JsonTree {
  try {
    return parseJsonTree(text);
  } catch {
    return `!invalid json ${text.slice(0, 80)}`;
  }
}
