import { canonicalDecimal, canonicalFloat, hexOf, jsonTreeText, parseJsonTree, type JsonTree } from "./canonical-value.js";
import type { TargetRows } from "./table-comparator.js";
import { canonicalValue, type CanonicalRow, type ColumnInfo, type ValueKind } from "./table-rows.js";

// An independent reader of OpenSearch: plain `fetch` against the REST API,
// nothing of the sink's code or of the OpenSearch client. Responses are
// parsed with the comparator's exact JSON parser, so numbers inside `_source`
// (a JSON column's 30-digit number, a float's digits) never pass through a
// JavaScript float.

type JsonObject = ReadonlyMap<string, JsonTree>;

const objectOf = (tree: JsonTree | undefined): JsonObject | undefined =>
  tree !== null && tree !== undefined && typeof tree === "object" && !Array.isArray(tree) && "object" in tree ? (tree as { object: JsonObject }).object : undefined;

const listOf = (tree: JsonTree | undefined): readonly JsonTree[] => (Array.isArray(tree) ? (tree as readonly JsonTree[]) : []);

/** Sends one request; returns the status and the body parsed exactly (undefined when empty). */
async function request(node: string, method: string, path: string, body?: unknown): Promise<{ status: number; tree: JsonTree | undefined; text: string }> {
  const response = await fetch(`${node}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, tree: text === "" ? undefined : parseJsonTree(text), text };
}

async function expectOk(node: string, method: string, path: string, body?: unknown): Promise<JsonTree | undefined> {
  const r = await request(node, method, path, body);
  if (r.status >= 400) throw new Error(`opensearch ${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return r.tree;
}

/**
 * The aliases (the sink's table names) whose names start with `prefix`,
 * and the concrete indices under the prefix that no alias points to and
 * that are not the sink's physical `<alias>.zeroetl-<id>` indices (a table
 * index made before the alias layout). Together: every table the target
 * shows under the prefix.
 */
export async function listOpenSearchTables(node: string, prefix: string): Promise<string[]> {
  const tree = await expectOk(node, "GET", `/_cat/aliases/${encodeURIComponent(prefix)}*?format=json`);
  const names = new Set(listOf(tree).map((a) => objectOf(a)?.get("alias")).filter((a): a is string => typeof a === "string"));
  const indices = await expectOk(node, "GET", `/_cat/indices/${encodeURIComponent(prefix)}*?format=json&expand_wildcards=open`);
  for (const i of listOf(indices)) {
    const name = objectOf(i)?.get("index");
    if (typeof name === "string" && !name.includes(".zeroetl-")) names.add(name);
  }
  return [...names].sort();
}

/** Deletes every index (and alias) whose name starts with `prefix`. */
export async function deleteOpenSearchIndices(node: string, prefix: string): Promise<void> {
  const r = await request(node, "DELETE", `/${encodeURIComponent(prefix)}*?expand_wildcards=all`);
  if (r.status >= 400 && r.status !== 404) throw new Error(`opensearch DELETE ${prefix}*: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

/** Every document `_source` of an index or alias: `_refresh`, then the scroll API sorted by `_doc`. */
export async function readOpenSearchDocuments(node: string, index: string): Promise<JsonObject[]> {
  const path = `/${encodeURIComponent(index)}`;
  await expectOk(node, "POST", `${path}/_refresh`);
  const out: JsonObject[] = [];
  let page = objectOf(await expectOk(node, "POST", `${path}/_search?scroll=1m`, { size: 500, sort: ["_doc"], query: { match_all: {} } }));
  let scrollId: string | undefined;
  try {
    for (;;) {
      const id = page?.get("_scroll_id");
      scrollId = typeof id === "string" ? id : scrollId;
      const hits = listOf(objectOf(page?.get("hits"))?.get("hits"));
      if (hits.length === 0 || scrollId === undefined) return out;
      for (const hit of hits) out.push(objectOf(objectOf(hit)?.get("_source")) ?? new Map());
      page = objectOf(await expectOk(node, "POST", "/_search/scroll", { scroll: "1m", scroll_id: scrollId }));
    }
  } finally {
    if (scrollId !== undefined) await request(node, "DELETE", "/_search/scroll", { scroll_id: scrollId }).catch(() => undefined);
  }
}

/** The top-level field names of an index's mapping (through its alias). */
async function mappedFields(node: string, index: string): Promise<Set<string> | undefined> {
  const r = await request(node, "GET", `/${encodeURIComponent(index)}/_mapping`);
  if (r.status === 404) return undefined;
  if (r.status >= 400) throw new Error(`opensearch GET ${index}/_mapping: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  const fields = new Set<string>();
  for (const physical of objectOf(r.tree)?.values() ?? []) {
    const properties = objectOf(objectOf(objectOf(physical)?.get("mappings"))?.get("properties"));
    for (const name of properties?.keys() ?? []) fields.add(name);
  }
  return fields;
}

/**
 * Inside lists and objects the document holds 64-bit integers and decimals
 * as JSON strings (the sink's exact-number rule) where `to_jsonb` has
 * numbers: a string that is a JSON number literal is compared as that
 * number, on both sides (so a text element "12" equals the number 12: the
 * one thing this normalisation cannot tell apart).
 */
export function looseJsonNumbers(tree: JsonTree): JsonTree {
  if (tree === null || typeof tree === "boolean") return tree;
  if (typeof tree === "string") return /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(tree) ? { number: canonicalDecimal(tree) } : tree;
  if (Array.isArray(tree)) return (tree as readonly JsonTree[]).map(looseJsonNumbers);
  const object = objectOf(tree);
  if (object === undefined) return tree;
  return { object: new Map([...object].map(([k, v]) => [k, looseJsonNumbers(v)])) };
}

/** The canonical text of a source JSON value under `looseJsonNumbers` (for the source side of JSON-kind columns). */
export function looseCanonicalJson(text: string | null): string | null {
  if (text === null) return null;
  try {
    return jsonTreeText(looseJsonNumbers(parseJsonTree(text)));
  } catch {
    return `!${text}`;
  }
}

/**
 * One `_source` field as the comparator's canonical text for a source
 * column of `kind` (the documented document shape, docs/connectors/opensearch.md):
 * integers and decimals as numbers or digit strings (exact), floats as
 * numbers, bytes as base64 (compared as hex), timestamps as ISO-8601 with
 * `T` and `Z`, JSON-kind values (json, jsonb, arrays, composites, hstore)
 * as JSON under `looseJsonNumbers`, everything else as its string.
 */
export function canonicalDocumentValue(kind: ValueKind, value: JsonTree | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (kind === "json" || kind === "json-text") return jsonTreeText(looseJsonNumbers(value));
  const number = typeof value === "object" && value !== null && !Array.isArray(value) && "number" in value ? (value as { number: string }).number : undefined;
  switch (kind) {
    case "int":
    case "decimal":
      return number !== undefined ? number : typeof value === "string" ? canonicalDecimal(value) : `!${jsonTreeText(value)}`;
    case "float":
      return number !== undefined ? canonicalFloat(number) : typeof value === "string" ? canonicalFloat(value) : `!${jsonTreeText(value)}`;
    case "bool":
      return typeof value === "boolean" ? String(value) : `!${jsonTreeText(value)}`;
    case "bytes":
      return typeof value === "string" ? hexOf(Buffer.from(value, "base64")) : `!${jsonTreeText(value)}`;
    default:
      return typeof value === "string" ? canonicalValue(kind, value) : `!${jsonTreeText(value)}`;
  }
}

/**
 * Reads one table (an alias) as the comparator's target rows: the source
 * columns the index mapping has count as present, each document's fields
 * are canonicalised by the source column's kind, an absent field reads
 * NULL. Undefined when the index does not exist.
 */
export async function readOpenSearchRows(node: string, index: string, wanted: readonly { readonly name: string; readonly kind: ValueKind; readonly type: string }[]): Promise<TargetRows | undefined> {
  const fields = await mappedFields(node, index);
  if (fields === undefined) return undefined;
  const present: ColumnInfo[] = wanted.filter((w) => fields.has(w.name)).map((w) => ({ name: w.name, kind: w.kind, type: "opensearch field" }));
  const documents = await readOpenSearchDocuments(node, index);
  // a float4 is written as its shortest float32 text (`4.1864835e-20`): widened exactly to the double the source reads (`::float8`)
  const float32 = new Set(wanted.filter((w) => w.kind === "float" && w.type === "real").map((w) => w.name));
  const rows: CanonicalRow[] = documents.map((d) => {
    const row: Record<string, string | null> = {};
    for (const p of present) {
      const value = canonicalDocumentValue(p.kind, d.get(p.name));
      row[p.name] = value !== null && float32.has(p.name) && !value.startsWith("!") ? canonicalFloat(Math.fround(Number(value))) : value;
    }
    return row;
  });
  return { present, rows };
}
