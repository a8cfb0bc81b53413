import { type PositionCodec, ZeroEtlError } from "@zero-etl/core";

/** A PostgreSQL log sequence number as an unsigned 64-bit integer. */
export type Lsn = bigint;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses the `XXXXXXXX/XXXXXXXX` text form; throws `position-invalid` when it is not one. */
export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text);
  if (match === null) throw new ZeroEtlError(`not a postgres lsn: "${text.slice(0, 40)}"`, { code: "position-invalid" });
  return (BigInt(`0x${match[1] ?? "0"}`) << 32n) | BigInt(`0x${match[2] ?? "0"}`);
}

/** Formats an LSN the way PostgreSQL prints it (`16/B374D848`, uppercase hex, no padding). */
export function formatLsn(lsn: Lsn): string {
  return `${Number(lsn >> 32n).toString(16).toUpperCase()}/${Number(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareLsn(a: Lsn, b: Lsn): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The position codec of the PostgreSQL source: positions are LSNs serialized as `0/16B3748`. */
export const lsnCodec: PositionCodec<Lsn> = Object.freeze({
  parse: parseLsn,
  serialize: formatLsn,
  compare: compareLsn,
});
