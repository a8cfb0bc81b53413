import { ZeroEtlError } from "@zero-etl/core";

/**
 * Splits a composite (row) value in its text output form, `("main st",1,)`,
 * into its fields' texts: quoted fields lose their quotes (`""` and `\x`
 * unescape), an empty unquoted field is NULL. Pure.
 */
export function parseRecordLiteral(text: string): (string | null)[] {
  if (text.charCodeAt(0) !== 0x28 /* ( */ || text.charCodeAt(text.length - 1) !== 0x29 /* ) */) throw malformed(text.length);
  const fields: (string | null)[] = [];
  let value = "";
  let quoted = false;
  let inQuotes = false;
  const end = text.length - 1;
  for (let i = 1; i <= end; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === 0x22 /* " */) {
        if (text.charCodeAt(i + 1) === 0x22) {
          value += '"';
          i++;
        } else inQuotes = false;
      } else if (c === 0x5c /* \ */) {
        value += text.charAt(i + 1);
        i++;
      } else value += text.charAt(i);
      continue;
    }
    if (c === 0x2c /* , */ || i === end) {
      if (i === end && c !== 0x29) throw malformed(i);
      fields.push(value === "" && !quoted ? null : value);
      value = "";
      quoted = false;
    } else if (c === 0x22) {
      inQuotes = true;
      quoted = true;
    } else if (c === 0x5c) {
      value += text.charAt(i + 1);
      i++;
    } else value += text.charAt(i);
  }
  if (inQuotes) throw malformed(text.length);
  return fields;
}

function malformed(at: number): ZeroEtlError {
  return new ZeroEtlError(`malformed composite value at character ${at}`, { code: "source-failed" });
}
