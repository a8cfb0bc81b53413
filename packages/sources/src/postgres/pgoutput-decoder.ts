import { ZeroEtlError } from "@zero-etl/core";

/** Marks a column whose value is an unchanged TOAST datum the server did not send (`u`). */
export const UNCHANGED_TOAST: unique symbol = Symbol("unchanged-toast");

/**
 * One column of a TupleData: `null` (`n`), {@link UNCHANGED_TOAST} (`u`),
 * the text form (`t`) or a copy of the binary form (`b`).
 */
export type TupleValue = string | null | Uint8Array | typeof UNCHANGED_TOAST;

/** One column as described by a Relation message. */
export interface RelationColumn {
  /** True when the column is part of the replica identity (flag bit 1). */
  readonly isKey: boolean;
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
}

/** Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;

/** Decoded pgoutput messages, discriminated on `tag`. Times are ms since the Unix epoch; LSNs are bigint. */
export type PgoutputMessage =
  | { readonly tag: "begin"; readonly finalLsn: bigint; readonly commitTime: number; readonly xid: number }
  | { readonly tag: "commit"; readonly flags: number; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTime: number }
  | { readonly tag: "origin"; readonly originLsn: bigint; readonly name: string }
  | {
      readonly tag: "relation";
      readonly xid?: number;
      readonly relationOid: number;
      readonly namespace: string;
      readonly name: string;
      /** `d` default, `n` nothing, `f` full, `i` index. */
      readonly replicaIdentity: string;
      readonly columns: readonly RelationColumn[];
    }
  | { readonly tag: "type"; readonly xid?: number; readonly typeOid: number; readonly namespace: string; readonly name: string }
  | { readonly tag: "insert"; readonly xid?: number; readonly relationOid: number; readonly newTuple: TupleValue[] }
  | {
      readonly tag: "update";
      readonly xid?: number;
      readonly relationOid: number;
      /** `K`: the old replica-identity columns; `O`: the whole old row; absent: neither was sent. */
      readonly oldKind?: "K" | "O";
      readonly oldTuple?: TupleValue[];
      readonly newTuple: TupleValue[];
    }
  | { readonly tag: "delete"; readonly xid?: number; readonly relationOid: number; readonly oldKind: "K" | "O"; readonly oldTuple: TupleValue[] }
  | { readonly tag: "truncate"; readonly xid?: number; readonly cascade: boolean; readonly restartIdentity: boolean; readonly relationOids: readonly number[] }
  | { readonly tag: "message"; readonly xid?: number; readonly transactional: boolean; readonly lsn: bigint; readonly prefix: string; readonly content: Uint8Array }
  | { readonly tag: "stream-start"; readonly xid: number; readonly firstSegment: boolean }
  | { readonly tag: "stream-stop" }
  | { readonly tag: "stream-commit"; readonly xid: number; readonly flags: number; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTime: number }
  | { readonly tag: "stream-abort"; readonly xid: number; readonly subXid: number };

/** Options of {@link decodePgoutput}. */
export interface PgoutputDecodeOptions {
  /**
   * True between Stream Start and Stream Stop (protocol 2): data messages
   * then carry the transaction id first.
   */
  readonly inStreamBlock?: boolean;
}

/**
 * Decodes one pgoutput message (the payload of one XLogData) from `buf`
 * starting at `offset`, per the "Logical Replication Message Formats" of
 * PostgreSQL (protocol versions 1 and 2). Pure: reads `buf`, allocates only
 * the message and its strings; binary column values are copied so the result
 * never aliases `buf`. Throws `source-failed` on a malformed or unknown message.
 */
export function decodePgoutput(buf: Buffer, offset = 0, options: PgoutputDecodeOptions = {}): PgoutputMessage {
  const reader = new Reader(buf, offset);
  const tag = reader.byte();
  const streamed = options.inStreamBlock === true;
  switch (tag) {
    case 0x42 /* B */: {
      const finalLsn = reader.u64();
      const commitTime = reader.timestamp();
      return { tag: "begin", finalLsn, commitTime, xid: reader.u32() };
    }
    case 0x43 /* C */: {
      const flags = reader.byte();
      const commitLsn = reader.u64();
      const endLsn = reader.u64();
      return { tag: "commit", flags, commitLsn, endLsn, commitTime: reader.timestamp() };
    }
    case 0x4f /* O */: {
      const originLsn = reader.u64();
      return { tag: "origin", originLsn, name: reader.cstring() };
    }
    case 0x52 /* R */: {
      const xid = streamed ? reader.u32() : undefined;
      const relationOid = reader.u32();
      const namespace = reader.cstring();
      const name = reader.cstring();
      const replicaIdentity = String.fromCharCode(reader.byte());
      const count = reader.u16();
      const columns: RelationColumn[] = new Array<RelationColumn>(count);
      for (let i = 0; i < count; i++) {
        const flags = reader.byte();
        const columnName = reader.cstring();
        const typeOid = reader.u32();
        columns[i] = { isKey: (flags & 1) === 1, name: columnName, typeOid, typeMod: reader.i32() };
      }
      return withXid({ tag: "relation", relationOid, namespace, name, replicaIdentity, columns }, xid);
    }
    case 0x59 /* Y */: {
      const xid = streamed ? reader.u32() : undefined;
      const typeOid = reader.u32();
      const namespace = reader.cstring();
      return withXid({ tag: "type", typeOid, namespace, name: reader.cstring() }, xid);
    }
    case 0x49 /* I */: {
      const xid = streamed ? reader.u32() : undefined;
      const relationOid = reader.u32();
      reader.expect(0x4e, "N");
      return withXid({ tag: "insert", relationOid, newTuple: reader.tuple() }, xid);
    }
    case 0x55 /* U */: {
      const xid = streamed ? reader.u32() : undefined;
      const relationOid = reader.u32();
      const kind = reader.byte();
      if (kind === 0x4b /* K */ || kind === 0x4f /* O */) {
        const oldTuple = reader.tuple();
        const oldKind = kind === 0x4b ? "K" : "O";
        reader.expect(0x4e, "N");
        return withXid({ tag: "update", relationOid, oldKind, oldTuple, newTuple: reader.tuple() }, xid);
      }
      if (kind !== 0x4e) throw malformed(`update tuple kind 0x${kind.toString(16)}`);
      return withXid({ tag: "update", relationOid, newTuple: reader.tuple() }, xid);
    }
    case 0x44 /* D */: {
      const xid = streamed ? reader.u32() : undefined;
      const relationOid = reader.u32();
      const kind = reader.byte();
      if (kind !== 0x4b && kind !== 0x4f) throw malformed(`delete tuple kind 0x${kind.toString(16)}`);
      return withXid({ tag: "delete", relationOid, oldKind: kind === 0x4b ? "K" : "O", oldTuple: reader.tuple() }, xid);
    }
    case 0x54 /* T */: {
      const xid = streamed ? reader.u32() : undefined;
      const count = reader.u32();
      const flags = reader.byte();
      const relationOids: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) relationOids[i] = reader.u32();
      return withXid({ tag: "truncate", cascade: (flags & 1) === 1, restartIdentity: (flags & 2) === 2, relationOids }, xid);
    }
    case 0x4d /* M */: {
      const xid = streamed ? reader.u32() : undefined;
      const flags = reader.byte();
      const lsn = reader.u64();
      const prefix = reader.cstring();
      const length = reader.u32();
      return withXid({ tag: "message", transactional: (flags & 1) === 1, lsn, prefix, content: reader.copy(length) }, xid);
    }
    case 0x53 /* S */: {
      const xid = reader.u32();
      return { tag: "stream-start", xid, firstSegment: reader.byte() === 1 };
    }
    case 0x45 /* E */:
      return { tag: "stream-stop" };
    case 0x63 /* c */: {
      const xid = reader.u32();
      const flags = reader.byte();
      const commitLsn = reader.u64();
      const endLsn = reader.u64();
      return { tag: "stream-commit", xid, flags, commitLsn, endLsn, commitTime: reader.timestamp() };
    }
    case 0x41 /* A */: {
      const xid = reader.u32();
      return { tag: "stream-abort", xid, subXid: reader.u32() };
    }
    default:
      throw malformed(`unknown message type 0x${tag.toString(16)}`);
  }
}

function withXid<T extends object>(message: T, xid: number | undefined): T {
  if (xid !== undefined) (message as { xid?: number }).xid = xid;
  return message;
}

function malformed(what: string): ZeroEtlError {
  return new ZeroEtlError(`malformed pgoutput message: ${what}`, { code: "source-failed" });
}

/** A bounds-checked cursor over one message. */
class Reader {
  private pos: number;
  constructor(
    private readonly buf: Buffer,
    offset: number,
  ) {
    this.pos = offset;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw malformed(`truncated at byte ${this.pos}`);
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  expect(value: number, name: string): void {
    const got = this.byte();
    if (got !== value) throw malformed(`expected '${name}' at byte ${this.pos - 1}, got 0x${got.toString(16)}`);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A PostgreSQL timestamp (int64 µs since 2000-01-01) as ms since the Unix epoch. */
  timestamp(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return Math.floor((hi * 4294967296 + lo) / 1000) + PG_EPOCH_MS;
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw malformed(`unterminated string at byte ${this.pos}`);
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 1;
    return s;
  }

  copy(length: number): Uint8Array {
    this.need(length);
    const out = new Uint8Array(length);
    out.set(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return out;
  }

  tuple(): TupleValue[] {
    const count = this.u16();
    const values: TupleValue[] = new Array<TupleValue>(count);
    const buf = this.buf;
    for (let i = 0; i < count; i++) {
      const kind = this.byte();
      if (kind === 0x74 /* t */) {
        const length = this.u32();
        this.need(length);
        values[i] = buf.toString("utf8", this.pos, this.pos + length);
        this.pos += length;
      } else if (kind === 0x6e /* n */) {
        values[i] = null;
      } else if (kind === 0x75 /* u */) {
        values[i] = UNCHANGED_TOAST;
      } else if (kind === 0x62 /* b */) {
        values[i] = this.copy(this.u32());
      } else {
        throw malformed(`tuple column ${i} kind 0x${kind.toString(16)}`);
      }
    }
    return values;
  }
}
