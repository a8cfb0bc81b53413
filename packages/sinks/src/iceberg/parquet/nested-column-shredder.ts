import { ZeroEtlError } from "@zero-etl/core";
import type { SchemaElement } from "hyparquet";
import type { IcebergField, IcebergType } from "../iceberg-schema.js";
import { parseDecimalType } from "../iceberg-value-codec.js";
import { flatColumnKind, writeFixedBigInt } from "./flat-column-encoder.js";
import type { FlatColumnKind } from "./flat-column-encoder.js";
import { GrowableByteBuffer } from "./growable-byte-buffer.js";
import { decimalBytes, primitiveElement } from "./parquet-type-mapping.js";

/** One leaf column of a list/struct field: its levels and PLAIN values of the open page. */
export interface NestedLeaf {
  readonly path: readonly string[];
  readonly fieldId: number;
  /** Its schema element (physical type and annotations). */
  readonly element: SchemaElement;
  readonly kind: FlatColumnKind;
  readonly width: number;
  readonly maxDefinition: number;
  readonly maxRepetition: number;
  /** One byte per level entry. */
  readonly repetitions: GrowableByteBuffer;
  /** One byte per level entry. */
  readonly definitions: GrowableByteBuffer;
  /** PLAIN values; booleans one byte each until the page is written. */
  readonly values: GrowableByteBuffer;
  /** Values in `values`. */
  count: number;
}

type ShredNode =
  | { readonly kind: "leaf"; readonly optional: boolean; readonly leaf: NestedLeaf; readonly name: string }
  | { readonly kind: "struct"; readonly optional: boolean; readonly name: string; readonly children: readonly { readonly key: string; readonly node: ShredNode }[] }
  | { readonly kind: "list"; readonly optional: boolean; readonly name: string; readonly repetition: number; readonly element: ShredNode };

/**
 * Shreds the values of one top-level list/map/struct field into Dremel
 * repetition/definition levels and PLAIN values per leaf (3-level lists,
 * maps as a repeated `key_value` group of `{ key, value }` entries,
 * optional levels counted from the root), and describes its Parquet schema
 * subtree with field ids. Throws a `ZeroEtlError` naming the field and row
 * when a value does not fit (never the value).
 */
export class NestedColumnShredder {
  /** Leaves in schema (depth-first) order. */
  readonly leaves: NestedLeaf[] = [];
  /** The schema elements of the field's subtree, depth-first. */
  readonly elements: SchemaElement[] = [];
  private readonly root: ShredNode;
  private readonly name: string;

  /** Builds the shredder of `field` (whose type is a list or struct). */
  constructor(field: IcebergField) {
    this.name = field.name;
    this.root = this.build(field.name, field.id, !field.required, field.type, [], 0, 0);
  }

  /** Appends the levels and values of `value` (the field's cell of file row `row`). */
  shred(value: unknown, row: number): void {
    this.visit(this.root, value, 0, 0, row);
  }

  private build(name: string, id: number | undefined, optional: boolean, type: IcebergType, parent: readonly string[], definition: number, repetition: number): ShredNode {
    const path = [...parent, name];
    const def = definition + (optional ? 1 : 0);
    const repetitionType = optional ? "OPTIONAL" : "REQUIRED";
    if (typeof type === "string") {
      const kind = flatColumnKind(type);
      if (kind === undefined) throw new ZeroEtlError(`field ${this.name}: no parquet encoding for iceberg type ${type}`, { code: "schema-unsupported" });
      const decimal = parseDecimalType(type);
      const width = kind === "fixed" ? 16 : kind === "decimalFixed" && decimal !== undefined ? decimalBytes(decimal.precision) : 0;
      const element: SchemaElement = { ...primitiveElement(type), name, repetition_type: repetitionType, ...(id === undefined ? {} : { field_id: id }) };
      this.elements.push(element);
      const leaf: NestedLeaf = {
        path,
        fieldId: id ?? -1,
        element,
        kind,
        width,
        maxDefinition: def,
        maxRepetition: repetition,
        repetitions: new GrowableByteBuffer(4096),
        definitions: new GrowableByteBuffer(4096),
        values: new GrowableByteBuffer(4096),
        count: 0,
      };
      this.leaves.push(leaf);
      return { kind: "leaf", optional, leaf, name };
    }
    if (type.type === "struct") {
      this.elements.push({ name, repetition_type: repetitionType, num_children: type.fields.length, ...(id === undefined ? {} : { field_id: id }) });
      const children = type.fields.map((f) => ({ key: f.name, node: this.build(f.name, f.id, !f.required, f.type, path, def, repetition) }));
      return { kind: "struct", optional, name, children };
    }
    if (type.type === "map") {
      // The spec's MAP layout: a repeated `key_value` group of a required key and the value
      // (entries arrive as `{ key, value }` objects, so the group is shredded as a struct).
      this.elements.push({ name, repetition_type: repetitionType, num_children: 1, converted_type: "MAP", logical_type: { type: "MAP" }, ...(id === undefined ? {} : { field_id: id }) });
      this.elements.push({ name: "key_value", repetition_type: "REPEATED", num_children: 2 });
      const entryPath = [...path, "key_value"];
      const key = this.build("key", type["key-id"], false, type.key, entryPath, def + 1, repetition + 1);
      const value = this.build("value", type["value-id"], !type["value-required"], type.value, entryPath, def + 1, repetition + 1);
      const entry: ShredNode = { kind: "struct", optional: false, name: "key_value", children: [{ key: "key", node: key }, { key: "value", node: value }] };
      return { kind: "list", optional, name, repetition: repetition + 1, element: entry };
    }
    this.elements.push({ name, repetition_type: repetitionType, num_children: 1, converted_type: "LIST", logical_type: { type: "LIST" }, ...(id === undefined ? {} : { field_id: id }) });
    this.elements.push({ name: "list", repetition_type: "REPEATED", num_children: 1 });
    const element = this.build("element", type["element-id"], !type["element-required"], type.element, [...path, "list"], def + 1, repetition + 1);
    return { kind: "list", optional, name, repetition: repetition + 1, element };
  }

  private visit(node: ShredNode, value: unknown, repetition: number, definition: number, row: number): void {
    if (value === null || value === undefined) {
      if (!node.optional) this.reject(`null in required ${node.name}`, row);
      this.absent(node, repetition, definition);
      return;
    }
    const def = definition + (node.optional ? 1 : 0);
    if (node.kind === "leaf") {
      const leaf = node.leaf;
      leaf.repetitions.writeByte(repetition);
      leaf.definitions.writeByte(def);
      if (!writePlainValue(leaf, value)) this.reject(`a ${typeof value} that does not fit ${leaf.kind} at ${leaf.path.join(".")}`, row);
      leaf.count++;
      return;
    }
    if (node.kind === "struct") {
      if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) this.reject(`not a struct at ${node.name}`, row);
      const obj = value as Readonly<Record<string, unknown>>;
      for (const child of node.children) this.visit(child.node, obj[child.key], repetition, def, row);
      return;
    }
    if (!Array.isArray(value)) this.reject(`not a list at ${node.name}`, row);
    const items = value as readonly unknown[];
    // An empty list is present (definition `def`) with no element below it.
    if (items.length === 0) {
      this.absent(node.element, repetition, def);
      return;
    }
    for (let i = 0; i < items.length; i++) this.visit(node.element, items[i], i === 0 ? repetition : node.repetition, def + 1, row);
  }

  /** Every leaf under `node` gets one level entry without a value. */
  private absent(node: ShredNode, repetition: number, definition: number): void {
    if (node.kind === "leaf") {
      node.leaf.repetitions.writeByte(repetition);
      node.leaf.definitions.writeByte(definition);
      return;
    }
    if (node.kind === "struct") for (const child of node.children) this.absent(child.node, repetition, definition);
    else this.absent(node.element, repetition, definition);
  }

  private reject(reason: string, row: number): never {
    throw new ZeroEtlError(`column ${this.name}, row ${row} of the file: ${reason}`, { code: "record-rejected" });
  }
}

/** Appends `count` levels (bytes) of `width` bits as one bit-packed run of the RLE/bit-packed hybrid, length-prefixed. */
export function writeLevels(out: GrowableByteBuffer, levels: Uint8Array, count: number, width: number): void {
  const at = out.length;
  out.writeUint32(0);
  const groups = (count + 7) >>> 3;
  out.writeVarint(groups * 2 + 1);
  out.ensure(groups * width);
  const bytes = out.bytes;
  let pos = out.length;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < count; i++) {
    acc |= (levels[i] as number) << bits;
    bits += width;
    while (bits >= 8) {
      bytes[pos++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  const end = out.length + groups * width;
  if (bits > 0) bytes[pos++] = acc & 0xff;
  while (pos < end) bytes[pos++] = 0;
  out.length = end;
  out.view.setUint32(at, out.length - at - 4, true);
}

/** Bits needed for levels up to `max` (at least 1). */
export function levelBitWidth(max: number): number {
  let width = 1;
  while (max >= 1 << width) width++;
  return width;
}

/** Empties a leaf's open page. */
export function resetNestedLeaf(leaf: NestedLeaf): void {
  leaf.repetitions.reset();
  leaf.definitions.reset();
  leaf.values.reset();
  leaf.count = 0;
}

function writePlainValue(leaf: NestedLeaf, v: unknown): boolean {
  const out = leaf.values;
  switch (leaf.kind) {
    case "boolean":
      if (typeof v !== "boolean") return false;
      out.writeByte(v ? 1 : 0);
      return true;
    case "int32":
    case "decimal32": {
      const n = typeof v === "bigint" && leaf.kind === "decimal32" ? Number(v) : v;
      if (typeof n !== "number" || (n | 0) !== n) return false;
      out.ensure(4);
      out.view.setInt32(out.length, n, true);
      out.length += 4;
      return true;
    }
    case "int64": {
      const n = typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : v;
      if (typeof n !== "bigint" || n !== BigInt.asIntN(64, n)) return false;
      out.ensure(8);
      out.view.setBigInt64(out.length, n, true);
      out.length += 8;
      return true;
    }
    case "float":
    case "double":
      if (typeof v !== "number") return false;
      out.ensure(8);
      if (leaf.kind === "float") out.view.setFloat32(out.length, v, true);
      else out.view.setFloat64(out.length, v, true);
      out.length += leaf.kind === "float" ? 4 : 8;
      return true;
    case "string": {
      if (typeof v !== "string") return false;
      out.ensure(4);
      const at = out.length;
      out.length += 4;
      // Write first: writeUtf8 may grow the buffer and replace `out.view`.
      const written = out.writeUtf8(v);
      out.view.setUint32(at, written, true);
      return true;
    }
    case "binary":
      if (!(v instanceof Uint8Array)) return false;
      out.writeUint32(v.length);
      out.writeBytes(v);
      return true;
    case "fixed":
      if (!(v instanceof Uint8Array) || v.length !== leaf.width) return false;
      out.writeBytes(v);
      return true;
    case "decimalFixed": {
      const limit = 1n << BigInt(8 * leaf.width - 1);
      if (typeof v !== "bigint" || v >= limit || v < -limit) return false;
      out.ensure(leaf.width);
      writeFixedBigInt(out.bytes, out.length, v, leaf.width);
      out.length += leaf.width;
      return true;
    }
  }
}
