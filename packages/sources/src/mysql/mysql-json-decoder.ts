import { ZeroEtlError } from "@zero-etl/core";
import { decodeDecimal } from "./mysql-value-decoder.js";

/**
 * MySQL 8 binary JSON (`JSONB` in the binlog and storage), decoded to the
 * JSON text MySQL itself prints: `{"a": 1, "b": [true, null]}` (a space after
 * `:` and `,`), keys in stored order, integers with every digit, doubles with
 * `.0` when integral, DECIMAL opaque values with their scale, temporal opaque
 * values as quoted strings, other opaque values as `"base64:typeN:..."`.
 *
 * Format: a type byte followed by the value; objects and arrays come small
 * (16-bit offsets) or large (32-bit) with element count, byte size, key
 * entries (offset, 16-bit length), value entries (type + inlined scalar or
 * offset relative to the container start).
 */

const T_SMALL_OBJECT = 0x00;
const T_LARGE_OBJECT = 0x01;
const T_SMALL_ARRAY = 0x02;
const T_LARGE_ARRAY = 0x03;
const T_LITERAL = 0x04;
const T_INT16 = 0x05;
const T_UINT16 = 0x06;
const T_INT32 = 0x07;
const T_UINT32 = 0x08;
const T_INT64 = 0x09;
const T_UINT64 = 0x0a;
const T_DOUBLE = 0x0b;
const T_STRING = 0x0c;
const T_OPAQUE = 0x0f;

/** A decoded JSON document kept as a tree so partial-update diffs can be applied; scalars are already rendered. */
export type JsonNode =
  | { readonly kind: "object"; keys: string[]; values: JsonNode[] }
  | { readonly kind: "array"; items: JsonNode[] }
  | { readonly kind: "scalar"; readonly text: string };

/** Decodes the binary JSON document in `buf[start, end)` to JSON text. An empty value (a JSON column set to '' by a lax mode) gives `null`. */
export function decodeBinaryJson(buf: Buffer, start: number, end: number): string {
  if (end <= start) return "null";
  return renderJson(parseBinaryJson(buf, start, end));
}

/** Decodes the binary JSON document in `buf[start, end)` to a tree. */
export function parseBinaryJson(buf: Buffer, start: number, end: number): JsonNode {
  if (end <= start) return { kind: "scalar", text: "null" };
  const type = buf.readUInt8(start);
  return parseValue(buf, type, start + 1, end);
}

function fail(what: string): never {
  throw new ZeroEtlError(`mysql binary json is malformed: ${what}`, { code: "source-failed" });
}

function parseValue(buf: Buffer, type: number, pos: number, end: number): JsonNode {
  switch (type) {
    case T_SMALL_OBJECT:
    case T_LARGE_OBJECT:
      return parseContainer(buf, pos, end, { large: type === T_LARGE_OBJECT, object: true });
    case T_SMALL_ARRAY:
    case T_LARGE_ARRAY:
      return parseContainer(buf, pos, end, { large: type === T_LARGE_ARRAY, object: false });
    case T_LITERAL:
      return literal(buf.readUInt8(pos));
    case T_INT16:
      return { kind: "scalar", text: String(buf.readInt16LE(pos)) };
    case T_UINT16:
      return { kind: "scalar", text: String(buf.readUInt16LE(pos)) };
    case T_INT32:
      return { kind: "scalar", text: String(buf.readInt32LE(pos)) };
    case T_UINT32:
      return { kind: "scalar", text: String(buf.readUInt32LE(pos)) };
    case T_INT64:
      return { kind: "scalar", text: buf.readBigInt64LE(pos).toString() };
    case T_UINT64:
      return { kind: "scalar", text: buf.readBigUInt64LE(pos).toString() };
    case T_DOUBLE:
      return { kind: "scalar", text: formatJsonDouble(buf.readDoubleLE(pos)) };
    case T_STRING: {
      const [len, next] = readVarLength(buf, pos, end);
      return { kind: "scalar", text: JSON.stringify(buf.toString("utf8", next, next + len)) };
    }
    case T_OPAQUE: {
      const fieldType = buf.readUInt8(pos);
      const [len, next] = readVarLength(buf, pos + 1, end);
      return { kind: "scalar", text: renderOpaque(buf, fieldType, next, next + len) };
    }
    default:
      return fail(`unknown value type ${type}`);
  }
}

function literal(code: number): JsonNode {
  if (code === 0) return { kind: "scalar", text: "null" };
  if (code === 1) return { kind: "scalar", text: "true" };
  if (code === 2) return { kind: "scalar", text: "false" };
  return fail(`unknown literal ${code}`);
}

function parseContainer(buf: Buffer, base: number, end: number, shape: { large: boolean; object: boolean }): JsonNode {
  const w = shape.large ? 4 : 2;
  const read = (p: number): number => (shape.large ? buf.readUInt32LE(p) : buf.readUInt16LE(p));
  const count = read(base);
  const size = read(base + w);
  if (base + size > end) fail("container larger than its value");
  const keyEntries = base + 2 * w;
  const valueEntries = shape.object ? keyEntries + count * (w + 2) : keyEntries;
  const values: JsonNode[] = new Array<JsonNode>(count);
  const keys: string[] = shape.object ? new Array<string>(count) : [];
  for (let i = 0; i < count; i++) {
    if (shape.object) {
      const keyOffset = read(keyEntries + i * (w + 2));
      const keyLength = buf.readUInt16LE(keyEntries + i * (w + 2) + w);
      keys[i] = buf.toString("utf8", base + keyOffset, base + keyOffset + keyLength);
    }
    const entry = valueEntries + i * (1 + w);
    const type = buf.readUInt8(entry);
    values[i] = parseEntry(buf, { type, entry: entry + 1, base, end, large: shape.large });
  }
  return shape.object ? { kind: "object", keys, values } : { kind: "array", items: values };
}

function parseEntry(buf: Buffer, e: { type: number; entry: number; base: number; end: number; large: boolean }): JsonNode {
  switch (e.type) {
    case T_LITERAL:
      return literal(buf.readUInt8(e.entry));
    case T_INT16:
      return { kind: "scalar", text: String(buf.readInt16LE(e.entry)) };
    case T_UINT16:
      return { kind: "scalar", text: String(buf.readUInt16LE(e.entry)) };
    case T_INT32:
      if (e.large) return { kind: "scalar", text: String(buf.readInt32LE(e.entry)) };
      break;
    case T_UINT32:
      if (e.large) return { kind: "scalar", text: String(buf.readUInt32LE(e.entry)) };
      break;
    default:
      break;
  }
  const offset = e.large ? buf.readUInt32LE(e.entry) : buf.readUInt16LE(e.entry);
  return parseValue(buf, e.type, e.base + offset, e.end);
}

function readVarLength(buf: Buffer, pos: number, end: number): [number, number] {
  let len = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= end) break;
    const b = buf.readUInt8(pos + i);
    len += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [len, pos + i + 1];
  }
  return fail("bad variable-length integer");
}

const PAD2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function renderOpaque(buf: Buffer, fieldType: number, start: number, end: number): string {
  switch (fieldType) {
    case 246: {
      const precision = buf.readUInt8(start);
      const scale = buf.readUInt8(start + 1);
      return decodeDecimal(buf, start + 2, precision, scale);
    }
    case 10:
    case 11:
    case 12:
    case 7:
    case 18:
    case 17:
    case 19: {
      const packed = buf.readBigInt64LE(start);
      const negative = packed < 0n;
      const abs = negative ? -packed : packed;
      const micros = Number(abs & 0xffffffn);
      const intpart = Number(abs >> 24n);
      const frac = `.${String(micros).padStart(6, "0")}`;
      if (fieldType === 11 || fieldType === 19) {
        const hour = (intpart >>> 12) % 1024;
        return `"${negative ? "-" : ""}${PAD2(hour)}:${PAD2((intpart >>> 6) & 63)}:${PAD2(intpart & 63)}${frac}"`;
      }
      const ymd = Math.floor(intpart / 0x20000);
      const hms = intpart % 0x20000;
      const ym = ymd >>> 5;
      const date = `${String(Math.floor(ym / 13)).padStart(4, "0")}-${PAD2(ym % 13)}-${PAD2(ymd & 31)}`;
      if (fieldType === 10) return `"${date}"`;
      return `"${date} ${PAD2(hms >>> 12)}:${PAD2((hms >>> 6) & 63)}:${PAD2(hms & 63)}${frac}"`;
    }
    default:
      return `"base64:type${fieldType}:${buf.toString("base64", start, end)}"`;
  }
}

/** Formats a double the way MySQL's JSON printer does: shortest round-trip digits, `.0` for integral values, `e` exponents without `+`. */
export function formatJsonDouble(d: number): string {
  const text = String(d).replace("e+", "e");
  if (/^-?\d+$/.test(text)) return `${text}.0`;
  return text;
}

/** Renders a JSON tree as MySQL prints JSON. */
export function renderJson(node: JsonNode): string {
  switch (node.kind) {
    case "scalar":
      return node.text;
    case "array": {
      let out = "[";
      for (let i = 0; i < node.items.length; i++) out += (i === 0 ? "" : ", ") + renderJson(node.items[i] as JsonNode);
      return `${out}]`;
    }
    case "object": {
      let out = "{";
      for (let i = 0; i < node.keys.length; i++) {
        out += `${i === 0 ? "" : ", "}${JSON.stringify(node.keys[i])}: ${renderJson(node.values[i] as JsonNode)}`;
      }
      return `${out}}`;
    }
  }
}

/** One operation of a MySQL partial JSON update (`PARTIAL_UPDATE_ROWS_EVENT`). */
export interface JsonDiff {
  readonly operation: "replace" | "insert" | "remove";
  /** A concrete MySQL JSON path such as `$.a[2]."b c"`. */
  readonly path: string;
  readonly value?: JsonNode;
}

/**
 * Reads the diff vector of a partial JSON update from `buf[start, end)`: each
 * diff is an operation byte (0 replace, 1 insert, 2 remove), a length-encoded
 * path, and for replace/insert a length-encoded binary JSON value.
 */
export function readJsonDiffs(buf: Buffer, start: number, end: number): JsonDiff[] {
  const diffs: JsonDiff[] = [];
  let pos = start;
  while (pos < end) {
    const op = buf.readUInt8(pos++);
    const [pathLength, afterLen] = readPackedInt(buf, pos);
    const path = buf.toString("utf8", afterLen, afterLen + pathLength);
    pos = afterLen + pathLength;
    if (op === 2) {
      diffs.push({ operation: "remove", path });
      continue;
    }
    if (op !== 0 && op !== 1) fail(`unknown json diff operation ${op}`);
    const [valueLength, valueStart] = readPackedInt(buf, pos);
    diffs.push({ operation: op === 0 ? "replace" : "insert", path, value: parseBinaryJson(buf, valueStart, valueStart + valueLength) });
    pos = valueStart + valueLength;
  }
  return diffs;
}

function readPackedInt(buf: Buffer, pos: number): [number, number] {
  const first = buf.readUInt8(pos);
  if (first < 251) return [first, pos + 1];
  if (first === 0xfc) return [buf.readUInt16LE(pos + 1), pos + 3];
  if (first === 0xfd) return [buf.readUIntLE(pos + 1, 3), pos + 4];
  if (first === 0xfe) return [Number(buf.readBigUInt64LE(pos + 1)), pos + 9];
  return fail("bad length-encoded integer in json diff");
}

type PathLeg = { readonly key: string } | { readonly index: number };

/** Parses a concrete JSON path (`$`, `.key`, `."quoted key"`, `[n]`). */
export function parseJsonPath(path: string): PathLeg[] {
  if (!path.startsWith("$")) fail(`json path must start with $`);
  const legs: PathLeg[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === " ") {
      i++;
    } else if (c === ".") {
      i++;
      if (path[i] === '"') {
        let j = i + 1;
        let raw = '"';
        while (j < path.length && path[j] !== '"') {
          if (path[j] === "\\") raw += path[j++];
          raw += path[j++];
        }
        legs.push({ key: JSON.parse(`${raw}"`) as string });
        i = j + 1;
      } else {
        let j = i;
        while (j < path.length && path[j] !== "." && path[j] !== "[") j++;
        legs.push({ key: path.slice(i, j) });
        i = j;
      }
    } else if (c === "[") {
      const close = path.indexOf("]", i);
      if (close < 0) fail("unterminated array leg");
      legs.push({ index: Number(path.slice(i + 1, close).trim()) });
      i = close + 1;
    } else {
      fail(`unexpected character in json path`);
    }
  }
  return legs;
}

/** MySQL's key order in binary objects: shorter keys first, then bytewise. */
function compareKeys(a: string, b: string): number {
  const ab = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  return ab.length - bb.length || Buffer.compare(ab, bb);
}

/** Applies partial-update diffs in order to `doc` (mutated) and returns it, as the server did to produce the new value. */
export function applyJsonDiffs(doc: JsonNode, diffs: readonly JsonDiff[]): JsonNode {
  let root = doc;
  for (const diff of diffs) {
    const legs = parseJsonPath(diff.path);
    if (legs.length === 0) {
      if (diff.operation === "remove" || diff.value === undefined) fail("cannot remove the document root");
      root = diff.value;
      continue;
    }
    let parent: JsonNode = root;
    for (let i = 0; i < legs.length - 1; i++) parent = child(parent, legs[i] as PathLeg) ?? fail(`json diff path ${diff.path} not found`);
    const last = legs[legs.length - 1] as PathLeg;
    if ("key" in last) {
      if (parent.kind !== "object") fail(`json diff path ${diff.path} is not an object member`);
      const at = parent.keys.indexOf(last.key);
      if (diff.operation === "remove") {
        if (at >= 0) {
          parent.keys.splice(at, 1);
          parent.values.splice(at, 1);
        }
      } else if (at >= 0) {
        parent.values[at] = diff.value as JsonNode;
      } else {
        let insertAt = parent.keys.findIndex((k) => compareKeys(last.key, k) < 0);
        if (insertAt < 0) insertAt = parent.keys.length;
        parent.keys.splice(insertAt, 0, last.key);
        parent.values.splice(insertAt, 0, diff.value as JsonNode);
      }
    } else {
      if (parent.kind !== "array") fail(`json diff path ${diff.path} is not an array cell`);
      const index = Math.min(last.index, parent.items.length);
      if (diff.operation === "remove") parent.items.splice(index, 1);
      else if (diff.operation === "insert") parent.items.splice(index, 0, diff.value as JsonNode);
      else parent.items[index] = diff.value as JsonNode;
    }
  }
  return root;
}

function child(node: JsonNode, leg: PathLeg): JsonNode | undefined {
  if ("key" in leg) {
    if (node.kind !== "object") return undefined;
    const at = node.keys.indexOf(leg.key);
    return at >= 0 ? node.values[at] : undefined;
  }
  return node.kind === "array" ? node.items[leg.index] : undefined;
}
