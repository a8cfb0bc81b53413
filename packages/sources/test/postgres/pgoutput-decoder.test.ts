import { describe, expect, it } from "vitest";
import { ZeroEtlError } from "@zero-etl/core";
import { UNCHANGED_TOAST, decodePgoutput } from "@zero-etl/sources/postgres";

/** Builds protocol bytes by hand, as the PostgreSQL docs describe them. */
class Bytes {
  private readonly parts: Buffer[] = [];
  char(c: string): this {
    this.parts.push(Buffer.from(c, "latin1"));
    return this;
  }
  i8(n: number): this {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  i64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.parts.push(Buffer.from(s, "utf8"), Buffer.from([0]));
    return this;
  }
  text(s: string): this {
    const body = Buffer.from(s, "utf8");
    return this.char("t").u32(body.length).raw(body);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// 2024-01-02T03:04:05.123456Z in µs since 2000-01-01
const COMMIT_US = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 123) - Date.UTC(2000, 0, 1)) * 1000n + 456n;
const COMMIT_MS = Date.UTC(2024, 0, 2, 3, 4, 5, 123);

describe("decodePgoutput (protocol 1, hand-built bytes)", () => {
  it("decodes Begin", () => {
    const buf = new Bytes().char("B").i64(0x1_6b37_48n).i64(COMMIT_US).u32(4_000_000_123).build();
    expect(decodePgoutput(buf)).toEqual({ tag: "begin", finalLsn: 0x1_6b37_48n, commitTime: COMMIT_MS, xid: 4_000_000_123 });
  });

  it("decodes Commit with LSNs above 2^32", () => {
    const buf = new Bytes().char("C").i8(0).i64(0x5_0000_0010n).i64(0x5_0000_0040n).i64(COMMIT_US).build();
    expect(decodePgoutput(buf)).toEqual({ tag: "commit", flags: 0, commitLsn: 0x5_0000_0010n, endLsn: 0x5_0000_0040n, commitTime: COMMIT_MS });
  });

  it("decodes Relation with key flags and typmods", () => {
    const buf = new Bytes()
      .char("R")
      .u32(16_385)
      .str("public")
      .str("orders ✓")
      .char("d")
      .i16(2)
      .i8(1)
      .str("id")
      .u32(23)
      .i32(-1)
      .i8(0)
      .str("amount")
      .u32(1700)
      .i32(((12 << 16) | 2) + 4)
      .build();
    expect(decodePgoutput(buf)).toEqual({
      tag: "relation",
      relationOid: 16_385,
      namespace: "public",
      name: "orders ✓",
      replicaIdentity: "d",
      columns: [
        { isKey: true, name: "id", typeOid: 23, typeMod: -1 },
        { isKey: false, name: "amount", typeOid: 1700, typeMod: 786438 },
      ],
    });
  });

  it("decodes Type and Origin", () => {
    expect(decodePgoutput(new Bytes().char("Y").u32(99_999).str("public").str("mood").build())).toEqual({
      tag: "type",
      typeOid: 99_999,
      namespace: "public",
      name: "mood",
    });
    expect(decodePgoutput(new Bytes().char("O").i64(77n).str("node_a").build())).toEqual({ tag: "origin", originLsn: 77n, name: "node_a" });
  });

  it("decodes Insert with every TupleData kind", () => {
    const buf = new Bytes()
      .char("I")
      .u32(16_385)
      .char("N")
      .i16(4)
      .text("42")
      .char("n")
      .char("u")
      .char("b")
      .u32(3)
      .raw(Buffer.from([1, 2, 3]))
      .build();
    const message = decodePgoutput(buf);
    expect(message).toEqual({ tag: "insert", relationOid: 16_385, newTuple: ["42", null, UNCHANGED_TOAST, new Uint8Array([1, 2, 3])] });
    // binary values are copies, never views of the input buffer
    buf.fill(0);
    expect(message.tag === "insert" && message.newTuple[3]).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("decodes Update without old tuple, with old key (K) and with old row (O)", () => {
    const plain = new Bytes().char("U").u32(1).char("N").i16(1).text("a").build();
    expect(decodePgoutput(plain)).toEqual({ tag: "update", relationOid: 1, newTuple: ["a"] });
    const keyed = new Bytes().char("U").u32(1).char("K").i16(2).text("1").char("n").char("N").i16(2).text("2").char("u").build();
    expect(decodePgoutput(keyed)).toEqual({ tag: "update", relationOid: 1, oldKind: "K", oldTuple: ["1", null], newTuple: ["2", UNCHANGED_TOAST] });
    const full = new Bytes().char("U").u32(1).char("O").i16(2).text("1").text("x").char("N").i16(2).text("1").text("y").build();
    expect(decodePgoutput(full)).toEqual({ tag: "update", relationOid: 1, oldKind: "O", oldTuple: ["1", "x"], newTuple: ["1", "y"] });
  });

  it("decodes Delete (K and O) and Truncate with options", () => {
    expect(decodePgoutput(new Bytes().char("D").u32(7).char("K").i16(1).text("9").build())).toEqual({
      tag: "delete",
      relationOid: 7,
      oldKind: "K",
      oldTuple: ["9"],
    });
    expect(decodePgoutput(new Bytes().char("D").u32(7).char("O").i16(2).text("9").char("n").build())).toEqual({
      tag: "delete",
      relationOid: 7,
      oldKind: "O",
      oldTuple: ["9", null],
    });
    expect(decodePgoutput(new Bytes().char("T").u32(2).i8(3).u32(10).u32(11).build())).toEqual({
      tag: "truncate",
      cascade: true,
      restartIdentity: true,
      relationOids: [10, 11],
    });
  });

  it("decodes logical decoding Message", () => {
    const buf = new Bytes().char("M").i8(1).i64(500n).str("zetl").u32(2).raw(Buffer.from("hi")).build();
    expect(decodePgoutput(buf)).toEqual({ tag: "message", transactional: true, lsn: 500n, prefix: "zetl", content: new Uint8Array([0x68, 0x69]) });
  });

  it("decodes protocol-2 streaming messages and the xid prefix inside a stream block", () => {
    expect(decodePgoutput(new Bytes().char("S").u32(900).i8(1).build())).toEqual({ tag: "stream-start", xid: 900, firstSegment: true });
    expect(decodePgoutput(new Bytes().char("E").build())).toEqual({ tag: "stream-stop" });
    expect(decodePgoutput(new Bytes().char("I").u32(900).u32(5).char("N").i16(1).text("z").build(), 0, { inStreamBlock: true })).toEqual({
      tag: "insert",
      xid: 900,
      relationOid: 5,
      newTuple: ["z"],
    });
    expect(decodePgoutput(new Bytes().char("c").u32(900).i8(0).i64(10n).i64(20n).i64(COMMIT_US).build())).toEqual({
      tag: "stream-commit",
      xid: 900,
      flags: 0,
      commitLsn: 10n,
      endLsn: 20n,
      commitTime: COMMIT_MS,
    });
    expect(decodePgoutput(new Bytes().char("A").u32(900).u32(901).build())).toEqual({ tag: "stream-abort", xid: 900, subXid: 901 });
  });

  it("decodes at an offset (the XLogData header is 25 bytes)", () => {
    const header = Buffer.alloc(25, 0xee);
    const body = new Bytes().char("I").u32(3).char("N").i16(1).text("ok").build();
    expect(decodePgoutput(Buffer.concat([header, body]), 25)).toEqual({ tag: "insert", relationOid: 3, newTuple: ["ok"] });
  });

  it("rejects truncated, unknown and malformed messages with source-failed", () => {
    const good = new Bytes().char("I").u32(3).char("N").i16(1).text("hello").build();
    for (let cut = 1; cut < good.length; cut++) {
      expect(() => decodePgoutput(good.subarray(0, cut))).toThrow(ZeroEtlError);
    }
    expect(() => decodePgoutput(Buffer.from("Z"))).toThrow(/unknown message type 0x5a/);
    expect(() => decodePgoutput(new Bytes().char("I").u32(3).char("X").build())).toThrow(/expected 'N'/);
    expect(() => decodePgoutput(new Bytes().char("I").u32(3).char("N").i16(1).char("q").build())).toThrow(/tuple column 0 kind/);
    try {
      decodePgoutput(Buffer.from("Z"));
    } catch (error) {
      expect((error as ZeroEtlError).code).toBe("source-failed");
    }
  });
});
