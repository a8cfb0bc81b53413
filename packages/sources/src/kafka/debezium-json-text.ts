const LONG_DIGITS = /\d{16}/;

/**
 * Puts integers of 16 or more digits in a JSON text into quotes, outside
 * strings only, so that `JSON.parse` keeps every digit of a 64-bit value
 * (the decoder turns them into `bigint`). Texts without such a number are
 * returned as they are, without a scan.
 */
export function quoteLongIntegers(text: string): string {
  if (!LONG_DIGITS.test(text)) return text;
  let out = "";
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      // the whole number token: sign, digits, fraction, exponent
      let j = i + 1;
      let integer = true;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) j++;
        else if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) {
          integer = false;
          j++;
        } else break;
      }
      // an integer long enough to lose digits as a double
      if (integer && j - i >= 16) {
        out += `${text.slice(from, i)}"${text.slice(i, j)}"`;
        from = j;
      }
      i = j - 1;
    }
  }
  return out + text.slice(from);
}

/** Splits a `{"schema":…,"payload":…}` text at its payload: the schema text (a cache key) and the payload text. */
export function splitEnvelope(text: string): { readonly schemaText: string; readonly payloadText: string } | undefined {
  const at = text.indexOf(',"payload":');
  if (at < 0 || !text.startsWith('{"schema":')) return undefined;
  return { schemaText: text.slice(10, at), payloadText: text.slice(at + 11, text.length - 1) };
}
