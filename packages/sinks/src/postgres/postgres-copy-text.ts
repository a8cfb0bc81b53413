/**
 * One cell of PostgreSQL's `COPY … FROM STDIN` text format, from a value
 * as the parameter encoders make it (`toPgParameter` and the column
 * encoders: null, string, boolean, number, Buffer): `\N` for NULL;
 * backslash, newline, carriage return and tab escaped; booleans `t`/`f`;
 * bytes as bytea hex input (`\\x…`, its backslash escaped). The column's
 * input function then reads the text exactly as it reads a text parameter.
 */
export function copyTextCell(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  switch (typeof value) {
    case "string":
      return escapeCopyText(value);
    case "boolean":
      return value ? "t" : "f";
    case "number":
    case "bigint":
      return String(value);
    default:
      break;
  }
  if (value instanceof Uint8Array) return `\\\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
  return escapeCopyText(String(value));
}

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;

function escapeCopyText(text: string): string {
  // most values hold none of the four characters: test once, copy only when needed
  if (!SPECIAL.test(text)) return text;
  return text.replace(SPECIAL_ALL, escapeOne);
}

function escapeOne(character: string): string {
  switch (character) {
    case "\\":
      return "\\\\";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    default:
      return "\\t";
  }
}
