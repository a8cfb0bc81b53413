import { GrowableByteBuffer } from "./growable-byte-buffer.js";

/** Thrift compact-protocol element types (the nibble in field and list headers). */
export const ThriftType = {
  boolTrue: 1,
  boolFalse: 2,
  byte: 3,
  i16: 4,
  i32: 5,
  i64: 6,
  double: 7,
  binary: 8,
  list: 9,
  struct: 12,
} as const;

const textEncoder = new TextEncoder();

/**
 * Writes Thrift compact-protocol structs field by field, enough for the
 * Parquet footer and page headers. Callers write fields in ascending id
 * order inside each struct, open nested structs with `beginStruct` or
 * `beginListStruct`, and close each with `endStruct`.
 */
export class ThriftCompactWriter {
  /** The encoded bytes so far. */
  readonly out: GrowableByteBuffer;
  private lastFieldId = 0;
  private readonly stack: number[] = [];

  /** Writes into `out` (a fresh buffer when omitted). */
  constructor(out: GrowableByteBuffer = new GrowableByteBuffer(256)) {
    this.out = out;
  }

  /** Writes an i32 field. */
  i32(id: number, value: number): void {
    this.fieldHeader(id, ThriftType.i32);
    this.out.writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes an i16 field. */
  i16(id: number, value: number): void {
    this.fieldHeader(id, ThriftType.i16);
    this.out.writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes an i64 field from a safe integer. */
  i64(id: number, value: number): void {
    this.fieldHeader(id, ThriftType.i64);
    this.out.writeVarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** Writes a bool field (the value lives in the header). */
  bool(id: number, value: boolean): void {
    this.fieldHeader(id, value ? ThriftType.boolTrue : ThriftType.boolFalse);
  }

  /** Writes a binary field. */
  binary(id: number, value: Uint8Array): void {
    this.fieldHeader(id, ThriftType.binary);
    this.out.writeVarint(value.length);
    this.out.writeBytes(value);
  }

  /** Writes a UTF-8 string field. */
  string(id: number, value: string): void {
    this.binary(id, textEncoder.encode(value));
  }

  /** Opens a struct field; close it with {@link endStruct}. */
  beginStruct(id: number): void {
    this.fieldHeader(id, ThriftType.struct);
    this.stack.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  /** Closes the innermost struct (a field or a list element). */
  endStruct(): void {
    this.out.writeByte(0);
    this.lastFieldId = this.stack.pop() ?? 0;
  }

  /** Opens a list field of `size` elements of `elementType`; write exactly that many elements next. */
  beginList(id: number, elementType: number, size: number): void {
    this.fieldHeader(id, ThriftType.list);
    if (size < 15) this.out.writeByte((size << 4) | elementType);
    else {
      this.out.writeByte(0xf0 | elementType);
      this.out.writeVarint(size);
    }
  }

  /** Opens one struct element of a list of structs; close it with {@link endStruct}. */
  beginListStruct(): void {
    this.stack.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  /** Writes one i32 element of a list. */
  listI32(value: number): void {
    this.out.writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes one string element of a list. */
  listString(value: string): void {
    const bytes = textEncoder.encode(value);
    this.out.writeVarint(bytes.length);
    this.out.writeBytes(bytes);
  }

  /** Ends the top-level struct (the stop byte); the writer's bytes are then complete. */
  finish(): Uint8Array {
    this.out.writeByte(0);
    return this.out.toBytes();
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastFieldId;
    if (delta > 0 && delta <= 15) this.out.writeByte((delta << 4) | type);
    else {
      this.out.writeByte(type);
      this.out.writeVarint(((id << 1) ^ (id >> 15)) & 0xffff);
    }
    this.lastFieldId = id;
  }
}
