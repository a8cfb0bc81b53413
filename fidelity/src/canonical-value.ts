/**
 * Canonical text forms the comparator reduces every cell to, on both sides,
 * before comparing. Each function documents which source representations it
 * accepts; anything it cannot parse is returned as `!<input>` so that it
 * never compares equal to a parsed value by accident.
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * An exact decimal as its shortest plain text: no exponent, no leading
 * zeros, no trailing fraction zeros, `-0` as `0` (`1.20` -> `1.2`,
 * `1E-3` -> `0.001`). `NaN`, `Infinity`, `-Infinity` (also `inf`) stay words.
 */
export function canonicalDecimal(input: string): string {
  const text = input.trim();
  const special = specialNumber(text);
  if (special !== undefined) return special;
  const m = DECIMAL.exec(text);
  if (m === null || ((m[2] ?? "") === "" && (m[3] ?? "") === "")) return `!${input}`;
  const negative = m[1] === "-";
  let digits = (m[2] ?? "") + (m[3] ?? "");
  let point = (m[2] ?? "").length + Number(m[4] ?? "0");
  // strip leading zeros, moving the point with them
  let lead = 0;
  while (lead < digits.length && digits[lead] === "0") lead++;
  digits = digits.slice(lead);
  point -= lead;
  let end = digits.length;
  while (end > 0 && digits[end - 1] === "0") end--;
  digits = digits.slice(0, end);
  if (digits === "") return "0";
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

function specialNumber(text: string): string | undefined {
  const t = text.replace(/^"|"$/g, "").toLowerCase();
  if (t === "nan") return "NaN";
  if (t === "infinity" || t === "+infinity" || t === "inf" || t === "+inf") return "Infinity";
  if (t === "-infinity" || t === "-inf") return "-Infinity";
  return undefined;
}

/**
 * A binary floating-point value as the shortest text that round-trips the
 * double (JavaScript's `String(number)`), from any decimal text or a
 * number; `-0` stays `-0`, non-finite values are words. A float4 must be
 * read widened to double on both sides (`::float8`, `CAST(… AS DOUBLE)`).
 */
export function canonicalFloat(input: string | number): string {
  const n = typeof input === "number" ? input : parseFloatText(input);
  if (n === undefined) return `!${String(input)}`;
  if (Number.isNaN(n)) return "NaN";
  if (Object.is(n, -0)) return "-0";
  return String(n);
}

function parseFloatText(text: string): number | undefined {
  const special = specialNumber(text.trim());
  if (special !== undefined) return Number(special);
  const t = text.trim().replace(/^"|"$/g, "");
  if (!DECIMAL.test(t) || t === "") return undefined;
  return Number(t);
}

/**
 * A timestamp as `YYYY-MM-DD HH:MM:SS[.f]` (fraction without trailing
 * zeros, ` BC` kept), from PostgreSQL ISO output (`…+00` in a UTC session),
 * ISO-8601 (`T`, `Z`), MySQL and DuckDB text. A non-UTC offset is kept, so
 * it never equals a UTC value. `infinity`/`-infinity` stay.
 */
export function canonicalTimestamp(input: string): string {
  const text = input.trim();
  if (text === "infinity" || text === "-infinity") return text;
  const m = /^(-?\d{4,}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?( BC)?$/.exec(text);
  if (m === null) return `!${input}`;
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  const zone = m[4] === undefined || m[4] === "Z" || /^[+-]00(:?00)?$/.test(m[4]) ? "" : m[4];
  return `${m[1]} ${m[2]}${fraction === "" ? "" : `.${fraction}`}${zone}${m[5] ?? ""}`;
}

/** A time of day `HH:MM:SS[.f][+HH[:MM]]` with the fraction's trailing zeros removed. */
export function canonicalTime(input: string): string {
  const m = /^(\d{2}:\d{2}:\d{2})(?:\.(\d+))?([+-]\d{2}(?::\d{2})?)?$/.exec(input.trim());
  if (m === null) return `!${input}`;
  const fraction = (m[2] ?? "").replace(/0+$/, "");
  return `${m[1]}${fraction === "" ? "" : `.${fraction}`}${m[3] ?? ""}`;
}

/** A signed duration `[-]H:MM:SS[.f]` (MySQL TIME) as whole microseconds. */
export function durationMicros(input: string): string {
  const m = /^(-?)(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(input.trim());
  if (m === null) return `!${input}`;
  const micros =
    ((BigInt(m[2] ?? "0") * 60n + BigInt(m[3] ?? "0")) * 60n + BigInt(m[4] ?? "0")) * 1_000_000n + BigInt((m[5] ?? "").padEnd(6, "0"));
  return canonicalDecimal(`${m[1] ?? ""}${micros}`);
}

/** Bytes as lowercase hex. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** A parsed JSON value with numbers kept as canonical decimal text. */
export type JsonTree = null | boolean | string | { readonly number: string } | readonly JsonTree[] | { readonly object: ReadonlyMap<string, JsonTree> };

/**
 * Parses JSON text exactly: numbers become canonical decimals (never a JS
 * float), a duplicate key keeps its last value (as jsonb does). Throws on
 * invalid JSON.
 */
export function parseJsonTree(text: string): JsonTree {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at ${i}: ${what}`);
  };
  const value = (): JsonTree => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const object = new Map<string, JsonTree>();
      ws();
      if (text[i] === "}") {
        i++;
        return { object };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const key = string();
        ws();
        if (text[i] !== ":") fail("expected :");
        i++;
        object.delete(key);
        object.set(key, value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { object };
        }
        fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      const list: JsonTree[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return list;
      }
      for (;;) {
        list.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return list;
        }
        fail("expected , or ]");
      }
    }
    if (c === '"') return string();
    if (text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 2000));
    if (m === null) return fail("unexpected character");
    i += m[0].length;
    return { number: canonicalDecimal(m[0]) };
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const out = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return out;
}

/** Canonical text of a JSON tree: object keys sorted, numbers canonical, no spaces. */
export function jsonTreeText(tree: JsonTree): string {
  if (tree === null || typeof tree === "boolean") return String(tree);
  if (typeof tree === "string") return JSON.stringify(tree);
  if (Array.isArray(tree)) return `[${tree.map(jsonTreeText).join(",")}]`;
  if ("number" in tree) return (tree as { number: string }).number;
  const object = (tree as { object: ReadonlyMap<string, JsonTree> }).object;
  const keys = [...object.keys()].sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonTreeText(object.get(k) ?? null)}`).join(",")}}`;
}

/** JSON text compared semantically: `parseJsonTree` then `jsonTreeText`; invalid JSON as `!<input>`. */
export function canonicalJson(input: string): string {
  try {
    return jsonTreeText(parseJsonTree(input));
  } catch {
    return `!${input}`;
  }
}
