import { jsonNumberToDecimal } from "../unnest/lossless-json-parser.js";

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True when `text` is a decimal number (optionally signed, optionally with exponent). */
export function isDecimalText(text: string): boolean {
  return DECIMAL.test(text);
}

function normalise(text: string): { negative: boolean; int: string; frac: string } {
  let body = /[eE]/.test(text) ? jsonNumberToDecimal(text.replace(/^\+/, "").replace(/^(-?)\./, "$10.").replace(/\.(?=[eE]|$)/, "")) : text;
  let negative = false;
  if (body.startsWith("-") || body.startsWith("+")) {
    negative = body.startsWith("-");
    body = body.slice(1);
  }
  const dot = body.indexOf(".");
  const int = (dot < 0 ? body : body.slice(0, dot)).replace(/^0+/, "");
  const frac = (dot < 0 ? "" : body.slice(dot + 1)).replace(/0+$/, "");
  if (int === "" && frac === "") negative = false;
  return { negative, int, frac };
}

/**
 * Compares two decimal strings exactly (no float on the way): negative when
 * `a < b`, 0 when equal (`1.50` equals `1.5`), positive when `a > b`.
 */
export function compareDecimalText(a: string, b: string): number {
  const x = normalise(a);
  const y = normalise(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const sign = x.negative ? -1 : 1;
  if (x.int.length !== y.int.length) return sign * (x.int.length - y.int.length);
  if (x.int !== y.int) return sign * (x.int < y.int ? -1 : 1);
  const width = Math.max(x.frac.length, y.frac.length);
  const fx = x.frac.padEnd(width, "0");
  const fy = y.frac.padEnd(width, "0");
  return fx === fy ? 0 : sign * (fx < fy ? -1 : 1);
}
