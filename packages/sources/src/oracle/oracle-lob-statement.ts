/**
 * The PL/SQL fragments LogMiner prints for LOB operations, which are not
 * DML and so not for the SQL_REDO parser:
 *
 * - SELECT_LOB_LOCATOR (operation 9): `… select "COL" into loc_c from
 *   "OWNER"."TABLE" where "ID" = '1' and … for update;` names the column and
 *   the row (the where clause is the DML where clause syntax);
 * - LOB_WRITE (10): `buf_c := '…'; dbms_lob.write(loc_c, <amount>, <offset>, buf_c);`
 *   (BLOBs: `buf_b := HEXTORAW('…');`);
 * - LOB_TRIM (11): `dbms_lob.trim(loc_c, <length>);`
 * - LOB_ERASE (29): `dbms_lob.erase(loc_c, <amount>, <offset>);`
 */
export type OracleLobStatement =
  | { readonly kind: "locator"; readonly column: string; readonly owner: string; readonly table: string; readonly where: string }
  | { readonly kind: "write"; readonly data: string; readonly hex: boolean; readonly amount: number; readonly offset: number }
  | { readonly kind: "trim"; readonly length: number }
  | { readonly kind: "erase"; readonly amount: number; readonly offset: number };

const IDENT = String.raw`"((?:[^"]|"")+)"`;
const LOCATOR = new RegExp(String.raw`select\s+${IDENT}\s+into\s+\w+\s+from\s+${IDENT}\s*\.\s*${IDENT}\s+where\s+([\s\S]*?)\s+for\s+update\s*;`, "i");
const WRITE = /:=\s*(?:HEXTORAW\s*\(\s*'([0-9A-Fa-f]*)'\s*\)|'((?:[^']|'')*)')\s*;\s*dbms_lob\.write\s*\(\s*\w+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\w+\s*\)/i;
const TRIM = /dbms_lob\.trim\s*\(\s*\w+\s*,\s*(\d+)\s*\)/i;
const ERASE = /dbms_lob\.erase\s*\(\s*\w+\s*,\s*(\d+)\s*,\s*(\d+)\s*\)/i;

const unquote = (s: string): string => s.replace(/""/g, '"');

/** Parses a LOB operation's SQL_REDO; `undefined` when it is not one of the forms above. */
export function parseLobStatement(op: "locator" | "write" | "trim" | "erase", redo: string): OracleLobStatement | undefined {
  switch (op) {
    case "locator": {
      const m = LOCATOR.exec(redo);
      if (m === null) return undefined;
      return { kind: "locator", column: unquote(m[1] ?? ""), owner: unquote(m[2] ?? ""), table: unquote(m[3] ?? ""), where: m[4] ?? "" };
    }
    case "write": {
      const m = WRITE.exec(redo);
      if (m === null) return undefined;
      const hex = m[1] !== undefined;
      return { kind: "write", data: hex ? (m[1] ?? "") : (m[2] ?? "").replace(/''/g, "'"), hex, amount: Number(m[3]), offset: Number(m[4]) };
    }
    case "trim": {
      const m = TRIM.exec(redo);
      return m === null ? undefined : { kind: "trim", length: Number(m[1]) };
    }
    case "erase": {
      const m = ERASE.exec(redo);
      return m === null ? undefined : { kind: "erase", amount: Number(m[1]), offset: Number(m[2]) };
    }
  }
}

/**
 * A LOB value being assembled from its writes, in characters (CLOB) or
 * bytes (BLOB). Offsets are 1-based as in `DBMS_LOB`; a gap before an offset
 * is filled with spaces or zero bytes, as `DBMS_LOB.WRITE` does.
 */
export class LobValue {
  #text = "";
  #bytes = new Uint8Array(0);
  #length = 0;

  constructor(readonly binary: boolean) {}

  /** Applies one parsed LOB operation (not a locator). */
  apply(statement: Exclude<OracleLobStatement, { kind: "locator" }>): void {
    switch (statement.kind) {
      case "write":
        if (this.binary) this.#writeBytes(statement.offset, hexBytes(statement.data));
        else this.#writeText(statement.offset, statement.data);
        return;
      case "trim":
        if (this.binary) this.#bytes = this.#bytes.slice(0, Math.min(statement.length, this.#length));
        else this.#text = this.#text.slice(0, statement.length);
        this.#length = Math.min(this.#length, statement.length);
        return;
      case "erase":
        if (this.binary) this.#writeBytes(statement.offset, new Uint8Array(Math.max(0, Math.min(statement.amount, this.#length - statement.offset + 1))));
        else this.#writeText(statement.offset, " ".repeat(Math.max(0, Math.min(statement.amount, this.#length - statement.offset + 1))));
        return;
    }
  }

  /** The value so far: a string for a CLOB, bytes for a BLOB. */
  value(): string | Uint8Array {
    return this.binary ? this.#bytes.slice(0, this.#length) : this.#text;
  }

  #writeText(offset: number, data: string): void {
    const at = offset - 1;
    const head = this.#text.length < at ? this.#text.padEnd(at, " ") : this.#text.slice(0, at);
    this.#text = head + data + this.#text.slice(at + data.length);
    this.#length = this.#text.length;
  }

  #writeBytes(offset: number, data: Uint8Array): void {
    const end = offset - 1 + data.length;
    if (end > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(data, offset - 1);
    this.#length = Math.max(this.#length, end);
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
