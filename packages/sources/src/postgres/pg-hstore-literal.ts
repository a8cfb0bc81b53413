import { ZeroEtlError } from "@zero-etl/core";

/**
 * Converts an hstore value in its text output form (`"a"=>"1", "b"=>NULL`)
 * into the JSON text of an object of strings and nulls, keys in the order
 * the server printed them. Pure.
 */
export function hstoreToJson(text: string): string {
  let pos = 0;
  const parts: string[] = [];
  const skipSpace = () => {
    while (pos < text.length && (text.charCodeAt(pos) === 0x20 || text.charCodeAt(pos) === 0x0a || text.charCodeAt(pos) === 0x09)) pos++;
  };
  const readString = (): string | null => {
    skipSpace();
    if (text.charCodeAt(pos) !== 0x22 /* " */) {
      // unquoted: NULL as a value, otherwise a bare word
      const start = pos;
      while (pos < text.length && !/[\s,=]/.test(text.charAt(pos))) pos++;
      const word = text.slice(start, pos);
      if (word.length === 0) throw malformed(pos);
      return word.toUpperCase() === "NULL" ? null : word;
    }
    pos++;
    let value = "";
    for (;;) {
      if (pos >= text.length) throw malformed(pos);
      const c = text.charCodeAt(pos);
      if (c === 0x5c /* \ */) {
        value += text.charAt(pos + 1);
        pos += 2;
      } else if (c === 0x22) {
        pos++;
        return value;
      } else {
        value += text.charAt(pos);
        pos++;
      }
    }
  };
  skipSpace();
  while (pos < text.length) {
    const key = readString();
    if (key === null) throw malformed(pos);
    skipSpace();
    if (text.slice(pos, pos + 2) !== "=>") throw malformed(pos);
    pos += 2;
    const value = readString();
    parts.push(`${JSON.stringify(key)}:${value === null ? "null" : JSON.stringify(value)}`);
    skipSpace();
    if (pos < text.length) {
      if (text.charCodeAt(pos) !== 0x2c /* , */) throw malformed(pos);
      pos++;
      skipSpace();
    }
  }
  return `{${parts.join(",")}}`;
}

function malformed(at: number): ZeroEtlError {
  return new ZeroEtlError(`malformed hstore value at character ${at}`, { code: "source-failed" });
}
