import { stableHash } from "./stable-hasher.js";

const encoder = new TextEncoder();

/** UTF-8 byte length of an identifier. */
export function identifierBytes(name: string): number {
  let bytes = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Shortens `name` to at most `maxBytes` UTF-8 bytes, deterministically: a
 * name that fits is returned unchanged; a longer one is cut (never inside a
 * character) and gets `_` plus 8 hex digits of a stable hash of the full
 * name, so two long names sharing a prefix stay distinct. `salt` > 0 picks
 * another hash, for the rare case where the first one collides.
 */
export function shortenIdentifier(name: string, maxBytes: number, salt = 0): string {
  if (salt === 0 && identifierBytes(name) <= maxBytes) return name;
  const suffix = `_${stableHash(salt === 0 ? name : `${salt}\u0000${name}`).slice(0, 8)}`;
  const budget = Math.max(0, maxBytes - suffix.length);
  let cut = "";
  let used = 0;
  for (const ch of name) {
    const size = encoder.encode(ch).length;
    if (used + size > budget) break;
    cut += ch;
    used += size;
  }
  return cut + suffix;
}

/**
 * Hands out unique identifiers within one namespace (the columns of a table,
 * or the tables of a pipeline): each full name maps to the same short name
 * every time, and no two full names share one.
 */
export class IdentifierRegistry {
  readonly #maxBytes: number;
  readonly #byFull = new Map<string, string>();
  readonly #taken = new Set<string>();

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Marks a name as used by someone else (e.g. a column the source already has): `assign` never hands it out. */
  reserve(name: string): void {
    this.#taken.add(name);
  }

  /** The identifier for `fullName`, allocated on first use. */
  assign(fullName: string): string {
    const known = this.#byFull.get(fullName);
    if (known !== undefined) return known;
    let salt = 0;
    let short = shortenIdentifier(fullName, this.#maxBytes, salt);
    while (this.#taken.has(short)) short = shortenIdentifier(fullName, this.#maxBytes, ++salt);
    this.#taken.add(short);
    this.#byFull.set(fullName, short);
    return short;
  }

  /** True when `name` is already handed out or reserved. */
  has(name: string): boolean {
    return this.#taken.has(name);
  }
}
