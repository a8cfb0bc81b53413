import { ZeroEtlError } from "@zero-etl/core";

/** A JSON number kept as its source text, so no digit is lost. */
export class LosslessNumber {
  /** The number exactly as the JSON text spells it. */
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  /** True when the text has no fraction and no exponent. */
  get isInteger(): boolean {
    return !/[.eE]/.test(this.text);
  }
  toString(): string {
    return this.text;
  }
}

/** A parsed JSON document whose numbers are {@link LosslessNumber}s. */
export type LosslessJson = null | boolean | string | LosslessNumber | readonly LosslessJson[] | { readonly [key: string]: LosslessJson };

/**
 * Parses JSON text keeping every number as its exact text (a reviver-based
 * `JSON.parse` would round numbers beyond 2^53 or with many digits first).
 * Throws a {@link ZeroEtlError} (`record-rejected`) naming the offset of the
 * first syntax error.
 */
export function parseLosslessJson(text: string): LosslessJson {
  let pos = 0;
  const fail = (what: string): never => {
    throw new ZeroEtlError(`invalid JSON at offset ${pos}: ${what}`, { code: "record-rejected" });
  };
  const skipWs = (): void => {
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++pos);
  };
  const readString = (): string => {
    const start = pos;
    pos++;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 34) break;
      if (Number.isNaN(c)) fail("unterminated string");
      pos += c === 92 ? 2 : 1;
    }
    pos++;
    const raw = text.slice(start, pos);
    return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const value = (): LosslessJson => {
    skipWs();
    const c = text.charCodeAt(pos);
    if (c === 123) {
      pos++;
      const out: Record<string, LosslessJson> = {};
      skipWs();
      if (text.charCodeAt(pos) === 125) {
        pos++;
        return out;
      }
      for (;;) {
        skipWs();
        if (text.charCodeAt(pos) !== 34) fail("expected a key");
        const key = readString();
        skipWs();
        if (text.charCodeAt(pos) !== 58) fail("expected ':'");
        pos++;
        out[key] = value();
        skipWs();
        const d = text.charCodeAt(pos++);
        if (d === 125) return out;
        if (d !== 44) fail("expected ',' or '}'");
      }
    }
    if (c === 91) {
      pos++;
      const out: LosslessJson[] = [];
      skipWs();
      if (text.charCodeAt(pos) === 93) {
        pos++;
        return out;
      }
      for (;;) {
        out.push(value());
        skipWs();
        const d = text.charCodeAt(pos++);
        if (d === 93) return out;
        if (d !== 44) fail("expected ',' or ']'");
      }
    }
    if (c === 34) return readString();
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = pos;
    const m = match.exec(text);
    if (m === null || m[0].length === 0) return fail("unexpected character");
    pos += m[0].length;
    return new LosslessNumber(m[0]);
  };
  const result = value();
  skipWs();
  if (pos !== text.length) fail("trailing characters");
  return result;
}

/**
 * Rewrites a JSON number as a plain decimal string (no exponent), exactly:
 * `1.5e3` -> `1500`, `-2E-3` -> `-0.002`. Texts without exponent are returned as they are.
 */
export function jsonNumberToDecimal(text: string): string {
  const e = text.search(/[eE]/);
  if (e < 0) return text;
  const exponent = Number(text.slice(e + 1));
  let mantissa = text.slice(0, e);
  const negative = mantissa.startsWith("-");
  if (negative) mantissa = mantissa.slice(1);
  const dot = mantissa.indexOf(".");
  let digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  let point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) digits += "0".repeat(point - digits.length);
  let int = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  let frac = digits.slice(point).replace(/0+$/, "");
  if (int === "") int = "0";
  const body = frac === "" ? int : `${int}.${frac}`;
  return negative && /[1-9]/.test(body) ? `-${body}` : body;
}
