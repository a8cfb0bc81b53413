import { ZeroEtlError } from "@zero-etl/core";
import type { LogicalType, Value } from "@zero-etl/core";

/**
 * A DynamoDB AttributeValue as the low-level SDK clients (DynamoDB, DynamoDB
 * Streams) and the DYNAMODB_JSON export format carry it: exactly one member
 * is set. Numbers are decimal strings; binary is bytes (or base64 text in
 * export files, see {@link decodeExportAttributeMap}).
 */
export interface AttributeValue {
  readonly S?: string | undefined;
  readonly N?: string | undefined;
  readonly B?: Uint8Array | undefined;
  readonly SS?: readonly string[] | undefined;
  readonly NS?: readonly string[] | undefined;
  readonly BS?: readonly Uint8Array[] | undefined;
  readonly M?: Readonly<Record<string, AttributeValue>> | undefined;
  readonly L?: readonly AttributeValue[] | undefined;
  readonly NULL?: boolean | undefined;
  readonly BOOL?: boolean | undefined;
}

/** A DynamoDB item or key: attribute name to value. */
export type AttributeMap = Readonly<Record<string, AttributeValue>>;

const CANONICAL_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
const ANY_NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Normalises a DynamoDB number to a plain decimal string (no exponent, no
 * leading or trailing zeros, no `-0`): valid as a JSON number and as a
 * `decimal` value. Every digit is kept; nothing passes through a float.
 * DynamoDB itself returns canonical numbers, so this is usually a regex test.
 */
export function normalizeDynamoNumber(text: string): string {
  if (CANONICAL_NUMBER.test(text) && text !== "-0") return text;
  const match = ANY_NUMBER.exec(text.trim());
  const intPart = match?.[2] ?? "";
  const fracPart = match?.[3] ?? "";
  if (match === null || (intPart === "" && fracPart === "")) {
    throw new ZeroEtlError("dynamodb number attribute is not a decimal number", { code: "schema-unsupported" });
  }
  let digits = intPart + fracPart;
  let point = intPart.length + Number(match[4] ?? 0);
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start++;
  digits = digits.slice(start);
  point -= start;
  let end = digits.length;
  while (end > Math.max(point, 0) && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  if (digits === "") return "0";
  let plain: string;
  if (point <= 0) plain = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + "0".repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return match[1] === "-" ? `-${plain}` : plain;
}

/** Compares two canonical decimal strings (as {@link normalizeDynamoNumber} returns) exactly. */
export function compareDecimalStrings(a: string, b: string): number {
  const negA = a.charCodeAt(0) === 45;
  const negB = b.charCodeAt(0) === 45;
  if (negA !== negB) return negA ? -1 : 1;
  const magnitude = compareMagnitude(negA ? a.slice(1) : a, negB ? b.slice(1) : b);
  return negA && magnitude !== 0 ? -magnitude : magnitude;
}

function compareMagnitude(a: string, b: string): number {
  const dotA = a.indexOf(".");
  const dotB = b.indexOf(".");
  const intA = dotA < 0 ? a.length : dotA;
  const intB = dotB < 0 ? b.length : dotB;
  if (intA !== intB) return intA - intB;
  // same integer width: plain string order is numeric order once the shorter fraction is padded
  const width = Math.max(a.length, b.length);
  const padA = dotA < 0 && a.length < width ? `${a}.` : a;
  const padB = dotB < 0 && b.length < width ? `${b}.` : b;
  const fa = padA.padEnd(width, "0");
  const fb = padB.padEnd(width, "0");
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Converts one AttributeValue to a zero-etl {@link Value}:
 * `S` string, `N` exact decimal string, `B` Uint8Array, `BOOL` boolean,
 * `NULL` null, `M` plain object, `L` array; the sets `SS`/`NS`/`BS` become
 * arrays sorted ascending (strings by code unit, numbers numerically, bytes
 * lexicographically), so equal sets give equal values; their logical type is
 * `list<string|decimal|bytes>` with source type `SS`/`NS`/`BS`
 * ({@link attributeLogicalType}).
 */
export function unmarshalValue(value: AttributeValue): Value {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return normalizeDynamoNumber(value.N);
  if (value.B !== undefined) return value.B;
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return unmarshalItem(value.M);
  if (value.L !== undefined) return value.L.map(unmarshalValue);
  if (value.SS !== undefined) return [...value.SS].sort(compareStrings);
  if (value.NS !== undefined) return value.NS.map(normalizeDynamoNumber).sort(compareDecimalStrings);
  if (value.BS !== undefined) return [...value.BS].sort(compareBytes);
  if (isMemberless(value)) return {};
  throw unknownMember(value);
}

/** Converts an item to a plain object of {@link unmarshalValue} values. */
export function unmarshalItem(item: AttributeMap): { readonly [field: string]: Value } {
  const out: Record<string, Value> = {};
  for (const name in item) {
    const v = item[name];
    if (v !== undefined) out[name] = unmarshalValue(v);
  }
  return out;
}

/** The logical type of one attribute value; maps and lists are `json` because DynamoDB does not type their members. */
export function attributeLogicalType(value: AttributeValue): LogicalType {
  if (value.S !== undefined) return { kind: "string" };
  if (value.N !== undefined) return { kind: "decimal" };
  if (value.B !== undefined) return { kind: "bytes" };
  if (value.BOOL !== undefined) return { kind: "bool" };
  if (value.SS !== undefined) return { kind: "list", element: { kind: "string" } };
  if (value.NS !== undefined) return { kind: "list", element: { kind: "decimal" } };
  if (value.BS !== undefined) return { kind: "list", element: { kind: "bytes" } };
  // M, L, NULL and the memberless empty map
  return { kind: "json" };
}

/**
 * Writes an item as JSON text with every number exact: `N` becomes a JSON
 * number with all its digits (normalised, never through a float), `S` a JSON
 * string, `B` a base64 string, `BOOL` true/false, `NULL` null, `M` an object,
 * `L` an array, and sets sorted arrays (numbers, strings, base64 strings).
 * Object keys are sorted, so the same item always gives the same text
 * whether it came from a scan, a stream record or an export file.
 */
export function itemToJsonText(item: AttributeMap): string {
  return writeMap(item);
}

const PLAIN_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON string literal; most keys and values need no escaping, which skips JSON.stringify's slower path. */
function quote(text: string): string {
  return text.length < 64 && PLAIN_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}

function writeMap(map: AttributeMap): string {
  const names = Object.keys(map);
  if (names.length > 1) names.sort();
  let out = "{";
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const v = map[name];
    if (v === undefined) continue;
    if (out.length > 1) out += ",";
    out += quote(name);
    out += ":";
    out += writeValue(v);
  }
  return `${out}}`;
}

function writeValue(value: AttributeValue): string {
  if (value.S !== undefined) return quote(value.S);
  if (value.N !== undefined) return normalizeDynamoNumber(value.N);
  if (value.M !== undefined) return writeMap(value.M);
  if (value.L !== undefined) {
    let out = "[";
    for (let i = 0; i < value.L.length; i++) {
      if (i > 0) out += ",";
      out += writeValue(value.L[i] as AttributeValue);
    }
    return `${out}]`;
  }
  if (value.BOOL !== undefined) return value.BOOL ? "true" : "false";
  if (value.NULL !== undefined) return "null";
  if (value.B !== undefined) return `"${toBase64(value.B)}"`;
  if (value.SS !== undefined) return `[${[...value.SS].sort().map(quote).join(",")}]`;
  if (value.NS !== undefined) return `[${value.NS.map(normalizeDynamoNumber).sort(compareDecimalStrings).join(",")}]`;
  if (value.BS !== undefined) return `[${[...value.BS].sort(compareBytes).map((b) => `"${toBase64(b)}"`).join(",")}]`;
  if (isMemberless(value)) return "{}";
  throw unknownMember(value);
}

/**
 * True for an attribute value with no member at all. DynamoDB Local's stream
 * records carry an empty map (`{ M: {} }` in a Scan) that way once the SDK has
 * read them, and an empty map is the only value with nothing inside to tell
 * its type: every other type has a non-empty member or a boolean.
 */
function isMemberless(value: AttributeValue): boolean {
  for (const name in value) if ((value as Record<string, unknown>)[name] !== undefined) return false;
  return true;
}

function unknownMember(value: AttributeValue): ZeroEtlError {
  const members = Object.keys(value).filter((name) => (value as Record<string, unknown>)[name] !== undefined);
  return new ZeroEtlError(`dynamodb attribute value has no known type member (has ${members.map((m) => JSON.stringify(m)).join(", ")})`, { code: "record-rejected" });
}

/**
 * Turns an attribute map parsed from DYNAMODB_JSON export text (where `B`
 * and `BS` members are base64 strings) into one with byte members, in place
 * of the parsed object; other members are already in SDK form.
 */
export function decodeExportAttributeMap(parsed: Record<string, unknown>): AttributeMap {
  for (const name in parsed) decodeExportValue(parsed[name] as Record<string, unknown>);
  return parsed as AttributeMap;
}

function decodeExportValue(value: Record<string, unknown>): void {
  if (typeof value.B === "string") value.B = new Uint8Array(Buffer.from(value.B, "base64"));
  else if (Array.isArray(value.BS)) value.BS = (value.BS as string[]).map((b) => new Uint8Array(Buffer.from(b, "base64")));
  else if (value.M !== undefined && value.M !== null) decodeExportAttributeMap(value.M as Record<string, unknown>);
  else if (Array.isArray(value.L)) for (const v of value.L as Record<string, unknown>[]) decodeExportValue(v);
}
