import type { Value } from "@zero-etl/core";
import { LIST_LOWER_BOUNDS, ZeroEtlError } from "@zero-etl/core";

/** Leading or trailing white space as PostgreSQL's `scanner_isspace` knows it. */
const ASCII_SPACE_AROUND = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;

/**
 * Parses a PostgreSQL array literal in its text output form (`{1,2,NULL}`,
 * `{"a b","c\"d"}`, `{{1,2},{3,4}}`, `[0:1]={1,2}`) into nested arrays,
 * decoding each non-null element with `decodeElement`. An unquoted `NULL`
 * (any case) is SQL NULL; a quoted `"NULL"` is the string. Lower bounds
 * other than 1 (`[0:1]={1,2}`) are kept on the result under
 * `LIST_LOWER_BOUNDS` (one per dimension). Pure.
 */
export function parseArrayLiteral(text: string, decodeElement: (text: string) => Value, delimiter = ","): Value[] {
  let pos = 0;
  let lowerBounds: number[] | undefined;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    // explicit bounds decoration: the values follow the `=`
    const eq = text.indexOf("=");
    if (eq < 0) throw invalid(text, 0);
    lowerBounds = [];
    for (const m of text.slice(0, eq).matchAll(/\[(-?\d+):-?\d+\]/g)) lowerBounds.push(Number(m[1]));
    pos = eq + 1;
  }
  const delim = delimiter.charCodeAt(0);
  const parseLevel = (): Value[] => {
    if (text.charCodeAt(pos) !== 0x7b /* { */) throw invalid(text, pos);
    pos++;
    const out: Value[] = [];
    if (text.charCodeAt(pos) === 0x7d /* } */) {
      pos++;
      return out;
    }
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x7b) {
        out.push(parseLevel());
      } else if (c === 0x22 /* " */) {
        pos++;
        let value = "";
        let start = pos;
        for (;;) {
          const q = text.charCodeAt(pos);
          if (Number.isNaN(q)) throw invalid(text, pos);
          if (q === 0x5c /* \ */) {
            value += text.slice(start, pos) + text.charAt(pos + 1);
            pos += 2;
            start = pos;
          } else if (q === 0x22) {
            value += text.slice(start, pos);
            pos++;
            break;
          } else {
            pos++;
          }
        }
        out.push(decodeElement(value));
      } else {
        const start = pos;
        while (pos < text.length) {
          const u = text.charCodeAt(pos);
          if (u === delim || u === 0x7d) break;
          pos++;
        }
        // PostgreSQL's array syntax skips only ASCII white space; String#trim would also eat U+00A0 and friends, which are data
        const raw = text.slice(start, pos).replace(ASCII_SPACE_AROUND, "");
        out.push(raw.length === 4 && raw.toUpperCase() === "NULL" ? null : decodeElement(raw));
      }
      const next = text.charCodeAt(pos);
      if (next === delim) {
        pos++;
        continue;
      }
      if (next === 0x7d) {
        pos++;
        return out;
      }
      throw invalid(text, pos);
    }
  };
  const result = parseLevel();
  if (lowerBounds !== undefined && lowerBounds.some((b) => b !== 1)) Object.defineProperty(result, LIST_LOWER_BOUNDS, { value: Object.freeze(lowerBounds) });
  return result;
}

function invalid(text: string, at: number): ZeroEtlError {
  return new ZeroEtlError(`malformed array literal at character ${at} of ${text.length}`, { code: "source-failed" });
}
