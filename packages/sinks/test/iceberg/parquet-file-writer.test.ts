import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { deserializeTCompactProtocol } from "hyparquet/src/thrift.js";
import { ZeroEtlError } from "@zero-etl/core";
import type { Row, Value } from "@zero-etl/core";
import { icebergRead } from "icebird";
import { createIcebergSink, createLocalObjectStore, listLiveFiles, readIcebergTable, serializeIcebergValue, toIcebergValue, writeParquetFile } from "@zero-etl/sinks/iceberg";
import type { DataFileMetrics, IcebergField, TableMetadata, WrittenParquetFile } from "@zero-etl/sinks/iceberg";
import { fromIcebergValue } from "../../src/iceberg/iceberg-value-codec.js";
import { readParquetByFieldId } from "../../src/iceberg/iceberg-table-reader.js";
import { encodeColumnarParquet } from "../../src/iceberg/parquet/columnar-parquet-encoder.js";
import { openDuckDb, orderRow, ordersSchema, plain, serveLocalFilesToFetch } from "./iceberg-test-kit.js";

/** Every Iceberg primitive the sink writes, one optional column each, plus a required key. */
const TYPES = [
  "boolean",
  "int",
  "long",
  "float",
  "double",
  "decimal(9,2)",
  "decimal(18,4)",
  "decimal(38,10)",
  "date",
  "time",
  "timestamp",
  "timestamptz",
  "string",
  "uuid",
  "binary",
] as const;

const FIELDS: IcebergField[] = [
  { id: 1, name: "id", required: true, type: "long" },
  ...TYPES.map((type, i) => ({ id: 10 + i, name: `c_${type.replace(/\W+/g, "_")}`, required: false, type })),
];

const pad = (n: number, w: number): string => String(n).padStart(w, "0");

/** Row `i` in logical form (canonical text, so a read-back compares equal); some cells null, some at the edges. */
function logicalRow(i: number): Value[] {
  const v = (k: number): Value | undefined => ((i + k) % 7 === 3 ? null : undefined);
  const sign = i % 2 === 0 ? 1 : -1;
  const cells: Value[] = [
    v(0) ?? i % 3 === 0,
    v(1) ?? (i === 5 ? 2147483647 : i === 6 ? -2147483648 : sign * i * 1000),
    v(2) ?? (i === 8 ? 9223372036854775807n : i === 9 ? -9223372036854775808n : BigInt(sign * i) * 4294967296n + 7n),
    v(3) ?? (i === 10 ? Number.NaN : i === 11 ? -0 : Math.fround(sign * i * 0.37)),
    v(4) ?? (i === 12 ? Number.NaN : i === 13 ? Number.POSITIVE_INFINITY : i === 14 ? -0 : sign * i * 1.0001),
    v(5) ?? `${sign < 0 ? "-" : ""}${i * 123}.${pad(i % 100, 2)}`,
    v(6) ?? `${sign < 0 ? "-" : ""}${i * 987654321}.${pad(i % 10000, 4)}`,
    v(7) ?? (i === 15 ? "9999999999999999999999999999.9999999999" : i === 16 ? "-9999999999999999999999999999.9999999999" : `${sign < 0 ? "-" : ""}${i + 1}123456789012345678.${pad(i, 10)}`),
    v(8) ?? `${1900 + (i % 200)}-${pad((i % 12) + 1, 2)}-${pad((i % 28) + 1, 2)}`,
    v(9) ?? `${pad(i % 24, 2)}:${pad(i % 60, 2)}:${pad((i * 7) % 60, 2)}.${pad(i % 1000000, 6)}`,
    v(10) ?? `${1950 + (i % 100)}-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:3${i % 10}:00.${pad(i * 13, 6)}`,
    v(11) ?? `${1960 + (i % 80)}-1${i % 3}-2${i % 9}T1${i % 10}:0${i % 10}:59.${pad(i * 17, 6)}Z`,
    v(12) ?? (i === 17 ? "" : i === 18 ? "a long string that is longer than sixteen code points" : i === 19 ? "\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}" : i === 20 ? "\uffff\ue000" : `héllo-${i}-ünïcødé`),
    v(13) ?? `${pad(i, 8)}-0000-4000-8000-${pad(i * 31, 12)}`,
    v(14) ?? (i === 21 ? new Uint8Array(0) : Uint8Array.from({ length: (i % 40) + 1 }, (_, k) => (i * 7 + k * 13) & 255)),
  ];
  return [BigInt(i), ...cells];
}

function encode(row: readonly Value[], fields: readonly IcebergField[] = FIELDS): unknown[] {
  return row.map((value, i) => (value === null ? null : toIcebergValue((fields[i] as IcebergField).type as string, value)));
}

/** Reads a file back through hyparquet (our table reader's raw path) into logical values. */
async function readBack(bytes: Uint8Array, fields: readonly IcebergField[]): Promise<Value[][]> {
  const { rows } = await readParquetByFieldId(bytes);
  return rows.map((m) =>
    fields.map((f) => {
      const raw = m.get(f.id);
      if (f.type === "string" && raw instanceof Uint8Array) return Buffer.from(raw).toString("utf8");
      return fromIcebergValue(f.type as string, raw);
    }),
  );
}

/** The bounds the spec asks for, computed here independently: min/max by Iceberg order, strings and bytes truncated to 16. */
function expectedBounds(type: string, values: readonly Value[]): { lower?: string; upper?: string; nulls: number; nans: number } {
  const present = values.filter((v) => v !== null);
  const nans = present.filter((v) => typeof v === "number" && Number.isNaN(v)).length;
  const ordered = present.filter((v) => !(typeof v === "number" && Number.isNaN(v))).map((v) => toIcebergValue(type, v));
  const nulls = values.length - present.length;
  if (ordered.length === 0) return { nulls, nans };
  const key = (x: unknown): Buffer | undefined => (typeof x === "string" ? Buffer.from(x, "utf8") : x instanceof Uint8Array ? Buffer.from(x) : undefined);
  const cmp = (a: unknown, b: unknown): number => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== undefined && kb !== undefined) return Buffer.compare(ka, kb);
    if (typeof a === "boolean") return Number(a) - Number(b);
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  };
  const sorted = [...ordered].sort(cmp);
  let min = sorted[0];
  let max = sorted[sorted.length - 1];
  if (type === "string") {
    const lo = Array.from(min as string);
    const hi = Array.from(max as string);
    if (lo.length > 16) min = lo.slice(0, 16).join("");
    if (hi.length > 16) {
      const last = hi[15]?.codePointAt(0) ?? 0;
      max = hi.slice(0, 15).join("") + String.fromCodePoint(last + 1);
    }
  }
  if (type === "binary") {
    const lo = min as Uint8Array;
    const hi = max as Uint8Array;
    if (lo.length > 16) min = lo.slice(0, 16);
    if (hi.length > 16) {
      let end = 16;
      while ((hi[end - 1] ?? 0) === 0xff) end--;
      const out = hi.slice(0, end);
      out[end - 1] = (out[end - 1] ?? 0) + 1;
      max = out;
    }
  }
  const hex = (x: unknown): string => Buffer.from(serializeIcebergValue(type, x as never)).toString("hex");
  return { lower: hex(min), upper: hex(max), nulls, nans };
}

function hexOf(map: ReadonlyMap<number, Uint8Array>, id: number): string | undefined {
  const b = map.get(id);
  return b === undefined ? undefined : Buffer.from(b).toString("hex");
}

function checkMetrics(metrics: DataFileMetrics, fields: readonly IcebergField[], logical: readonly Value[][]): void {
  expect(metrics.recordCount).toBe(logical.length);
  fields.forEach((f, c) => {
    const expected = expectedBounds(f.type as string, logical.map((r) => r[c] ?? null));
    expect({ field: f.name, lower: hexOf(metrics.lowerBounds, f.id), upper: hexOf(metrics.upperBounds, f.id) }).toEqual({ field: f.name, lower: expected.lower, upper: expected.upper });
    expect(metrics.valueCounts.get(f.id)).toBe(BigInt(logical.length));
    expect(metrics.nullValueCounts.get(f.id)).toBe(BigInt(expected.nulls));
    if (f.type === "float" || f.type === "double") expect(metrics.nanValueCounts.get(f.id)).toBe(BigInt(expected.nans));
    else expect(metrics.nanValueCounts.has(f.id)).toBe(false);
    expect(Number(metrics.columnSizes.get(f.id) ?? 0n)).toBeGreaterThan(0);
  });
}

/** Data pages of a column (dotted path) over all row groups, read from the page headers. */
function dataPageCount(bytes: Uint8Array, path: string): number {
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pages = 0;
  for (const group of meta.row_groups) {
    for (const chunk of group.columns) {
      const m = chunk.meta_data;
      if (m?.path_in_schema.join(".") !== path) continue;
      const reader = { view, offset: Number(m.dictionary_page_offset ?? m.data_page_offset) };
      const end = reader.offset + Number(m.total_compressed_size);
      while (reader.offset < end) {
        const header = deserializeTCompactProtocol(reader);
        if (header.field_1 === 0) pages++;
        reader.offset += Number(header.field_3);
      }
    }
  }
  return pages;
}

/** The encodings of the data pages of a column's chunks, read from the page headers. */
function dataPageEncodings(bytes: Uint8Array, column: string): Set<number> {
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = new Set<number>();
  for (const group of meta.row_groups) {
    for (const chunk of group.columns) {
      const m = chunk.meta_data;
      if (m?.path_in_schema[0] !== column) continue;
      const reader = { view, offset: Number(m.dictionary_page_offset ?? m.data_page_offset) };
      const end = reader.offset + Number(m.total_compressed_size);
      while (reader.offset < end) {
        const header = deserializeTCompactProtocol(reader);
        if (header.field_1 === 0) found.add(Number(header.field_5.field_2));
        reader.offset += Number(header.field_3);
      }
    }
  }
  return found;
}

describe("parquet file writer: flat columns through our encoder", () => {
  let dir: string;
  let duck: Awaited<ReturnType<typeof openDuckDb>>;
  const ROWS = 2500;
  const logical = Array.from({ length: ROWS }, (_, i) => logicalRow(i));
  let file: WrittenParquetFile;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "zetl-parquet-writer-"));
    duck = await openDuckDb();
    await duck.connection.run("SET TimeZone='UTC'");
    file = writeParquetFile({ fields: FIELDS, rows: logical.map((r) => encode(r)), rowGroupRows: 1000 });
    path = join(dir, "all-types.parquet");
    await writeFile(path, file.bytes);
  });

  afterAll(async () => {
    duck.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every primitive type with nulls; hyparquet reads back the same values", async () => {
    expect(await readBack(file.bytes, FIELDS)).toEqual(logical);
  });

  it("carries field ids, physical and logical types that DuckDB reports", async () => {
    const schema = (await duck.connection.runAndReadAll(`SELECT name, type, repetition_type, field_id, logical_type, converted_type, type_length FROM parquet_schema('${path}')`)).getRowObjectsJson();
    const byName = new Map(schema.map((r) => [String(r["name"]), r]));
    expect(byName.get("id")).toMatchObject({ type: "INT64", repetition_type: "REQUIRED", field_id: "1" });
    const expectations: Record<string, { type: string; logical?: RegExp; converted?: string; length?: string }> = {
      boolean: { type: "BOOLEAN" },
      int: { type: "INT32" },
      long: { type: "INT64" },
      float: { type: "FLOAT" },
      double: { type: "DOUBLE" },
      "decimal(9,2)": { type: "INT32", logical: /DecimalType\(scale=2, precision=9\)/, converted: "DECIMAL" },
      "decimal(18,4)": { type: "INT64", logical: /DecimalType\(scale=4, precision=18\)/, converted: "DECIMAL" },
      "decimal(38,10)": { type: "FIXED_LEN_BYTE_ARRAY", logical: /DecimalType\(scale=10, precision=38\)/, converted: "DECIMAL", length: "16" },
      date: { type: "INT32", logical: /DateType/, converted: "DATE" },
      time: { type: "INT64", logical: /TimeType\(isAdjustedToUTC=0.*MICROS=MicroSeconds/, converted: "TIME_MICROS" },
      timestamp: { type: "INT64", logical: /TimestampType\(isAdjustedToUTC=0.*MICROS=MicroSeconds/ },
      timestamptz: { type: "INT64", logical: /TimestampType\(isAdjustedToUTC=1.*MICROS=MicroSeconds/ },
      string: { type: "BYTE_ARRAY", logical: /StringType/, converted: "UTF8" },
      uuid: { type: "FIXED_LEN_BYTE_ARRAY", logical: /UUIDType/, length: "16" },
      binary: { type: "BYTE_ARRAY" },
    };
    for (const f of FIELDS.slice(1)) {
      const row = byName.get(f.name);
      const want = expectations[f.type as string];
      expect(row, f.name).toMatchObject({ type: want?.type, repetition_type: "OPTIONAL", field_id: String(f.id) });
      if (want?.logical !== undefined) expect(String(row?.["logical_type"]), f.name).toMatch(want.logical);
      else expect(row?.["logical_type"], f.name).toBeNull();
      expect(row?.["converted_type"] ?? undefined, f.name).toBe(want?.converted);
      if (want?.length !== undefined) expect(String(row?.["type_length"]), f.name).toBe(want.length);
    }
  });

  it("DuckDB reads back the same values", async () => {
    const cols = FIELDS.map((f) => {
      const c = `"${f.name}"`;
      if (f.type === "binary") return `hex(${c}) AS ${c}`;
      if (f.type === "float" || f.type === "double") return `${c}::DOUBLE AS ${c}`;
      if (f.type === "boolean" || f.type === "int") return c;
      if (f.type === "timestamp" || f.type === "timestamptz") return `epoch_us(${c})::VARCHAR AS ${c}`;
      if (f.type === "time") return `date_diff('microsecond', TIME '00:00:00', ${c})::VARCHAR AS ${c}`;
      return `${c}::VARCHAR AS ${c}`;
    });
    const result = await duck.connection.runAndReadAll(`SELECT ${cols.join(", ")} FROM read_parquet('${path}')`);
    const got = result.getRows().map((r) => r.map((v) => (typeof v === "bigint" ? v.toString() : v)));
    const want = logical.map((row) =>
      row.map((value, i) => {
        const type = (FIELDS[i] as IcebergField).type as string;
        if (value === null) return null;
        if (type === "binary") return Buffer.from(value as Uint8Array).toString("hex").toUpperCase();
        if (type === "timestamp" || type === "timestamptz" || type === "time") return String(toIcebergValue(type, value));
        if (type === "float" || type === "double" || type === "boolean" || type === "int") return value;
        return String(value);
      }),
    );
    expect(got).toEqual(want);
  });

  it("computes the manifest metrics: counts, NaNs, truncated bounds, column sizes, split offsets", () => {
    checkMetrics(file.metrics, FIELDS, logical);
    expect(file.metrics.splitOffsets.map(Number)).toEqual(
      parquetMetadata(file.bytes.buffer.slice(file.bytes.byteOffset, file.bytes.byteOffset + file.bytes.byteLength) as ArrayBuffer).row_groups.map((g) =>
        Number(g.columns[0]?.meta_data?.data_page_offset),
      ),
    );
    expect(file.metrics.splitOffsets).toHaveLength(3);
  });

  it("writes column-chunk statistics per row group that match DuckDB's own min/max", async () => {
    const checked = FIELDS.filter((f) => !["float", "double", "binary", "boolean"].includes(f.type as string));
    const stats = (
      await duck.connection.runAndReadAll(`SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata('${path}')`)
    ).getRowObjectsJson();
    for (const f of checked) {
      const c = `"${f.name}"`;
      const actual = await duck.connection.runAndReadAll(
        `SELECT (file_row_number // 1000)::INT AS g, min(${c})::VARCHAR AS lo, max(${c})::VARCHAR AS hi, (count(*) - count(${c}))::VARCHAR AS n FROM read_parquet('${path}', file_row_number = true) GROUP BY g ORDER BY g`,
      );
      for (const r of actual.getRowObjectsJson()) {
        const s = stats.find((x) => Number(x["row_group_id"]) === r["g"] && x["path_in_schema"] === f.name);
        // Byte arrays over 64 bytes get no min/max rather than a long footer.
        const long = f.type === "string" && [r["lo"], r["hi"]].some((x) => Buffer.byteLength(String(x)) > 64);
        const want = long ? { lo: null, hi: null } : { lo: r["lo"], hi: r["hi"] };
        expect({ f: f.name, g: r["g"], lo: s?.["stats_min_value"], hi: s?.["stats_max_value"], n: s?.["stats_null_count"] }).toEqual({ f: f.name, g: r["g"], ...want, n: r["n"] });
      }
    }
  });

  it("agrees with the hyparquet-writer encoder on values and metrics", async () => {
    const withList: IcebergField[] = [...FIELDS, { id: 99, name: "tags", required: false, type: { type: "list", "element-id": 100, "element-required": false, element: "string" } }];
    const rows = logical.map((r, i) => [...encode(r), i % 4 === 0 ? null : i % 4 === 1 ? [] : ["x", null, `t${i}`]]);
    const nested = writeParquetFile({ fields: withList, rows, rowGroupRows: 1000, encoder: "hyparquet" });
    expect(await readBack(nested.bytes, FIELDS)).toEqual(await readBack(file.bytes, FIELDS));
    const ourList = writeParquetFile({ fields: withList, rows, rowGroupRows: 1000 });
    expect((await readParquetByFieldId(ourList.bytes)).rows.map((m) => m.get(99))).toEqual((await readParquetByFieldId(nested.bytes)).rows.map((m) => m.get(99)));
    for (const key of ["valueCounts", "nullValueCounts", "nanValueCounts", "lowerBounds", "upperBounds"] as const) {
      const ours = new Map([...file.metrics[key]].map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v]));
      const theirs = new Map([...nested.metrics[key]].filter(([k]) => k !== 99 && k !== 100).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v]));
      expect(ours, key).toEqual(theirs);
    }
  });

  it("splits column chunks into several pages, compressed or not, and readers agree", async () => {
    const rows = logical.map((r) => encode(r));
    for (const codec of ["snappy", "uncompressed"] as const) {
      const small = encodeColumnarParquet({ fields: FIELDS, rows, rowGroupRows: 1200, pageBytes: 512, codec, createdBy: "test" });
      const meta = parquetMetadata(small.bytes.buffer.slice(small.bytes.byteOffset, small.bytes.byteOffset + small.bytes.byteLength) as ArrayBuffer);
      expect(meta.row_groups).toHaveLength(3);
      expect(meta.row_groups[0]?.columns[0]?.meta_data?.codec).toBe(codec === "snappy" ? "SNAPPY" : "UNCOMPRESSED");
      expect(await readBack(small.bytes, FIELDS)).toEqual(logical);
      const p = join(dir, `pages-${codec}.parquet`);
      await writeFile(p, small.bytes);
      const differing = await duck.connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM read_parquet('${p}'))::INT AS n,
          (SELECT count(*) FROM (SELECT * FROM read_parquet('${p}') EXCEPT ALL SELECT * FROM read_parquet('${path}')))::INT AS extra,
          (SELECT count(*) FROM (SELECT * FROM read_parquet('${path}') EXCEPT ALL SELECT * FROM read_parquet('${p}')))::INT AS missing`,
      );
      expect(differing.getRowObjectsJson()).toEqual([{ n: ROWS, extra: 0, missing: 0 }]);
      // Walk the page headers of every chunk: several pages each, their row counts add up to the group's.
      const view = new DataView(small.bytes.buffer, small.bytes.byteOffset, small.bytes.byteLength);
      for (const group of meta.row_groups) {
        for (const chunk of group.columns) {
          const m = chunk.meta_data;
          const reader = { view, offset: Number(m?.dictionary_page_offset ?? m?.data_page_offset) };
          const end = reader.offset + Number(m?.total_compressed_size);
          let pages = 0;
          let values = 0;
          while (reader.offset < end) {
            const header = deserializeTCompactProtocol(reader);
            if (header.field_1 === 2) {
              // The dictionary page leads a string chunk.
              expect(pages).toBe(0);
              expect(m?.path_in_schema).toEqual(["c_string"]);
              reader.offset += Number(header.field_3);
              continue;
            }
            expect(header.field_1).toBe(0);
            values += Number(header.field_5.field_1);
            reader.offset += Number(header.field_3);
            pages++;
          }
          expect(reader.offset).toBe(end);
          expect(values).toBe(Number(group.num_rows));
          if (m?.type !== "BOOLEAN" && Number(group.num_rows) === 1200) expect(pages, m?.path_in_schema.join(".")).toBeGreaterThan(1);
        }
      }
    }
  });

  it("dictionary-encodes strings and falls back to PLAIN past 32k entries or 1 MiB, readers agree", async () => {
    const fields: IcebergField[] = [
      { id: 1, name: "few", required: true, type: "string" },
      { id: 2, name: "unique", required: false, type: "string" },
      { id: 3, name: "wide", required: false, type: "string" },
    ];
    const n = 40_000;
    const rows = Array.from({ length: n }, (_, i) => [`v${i % 3}`, i % 11 === 0 ? null : `u-${i}`, i % 5 === 0 ? null : `${"x".repeat(300)}${i}`]);
    const written = writeParquetFile({ fields, rows });
    expect(await readBack(written.bytes, fields)).toEqual(rows);
    const p = join(dir, "dictionary.parquet");
    await writeFile(p, written.bytes);
    const reference = `SELECT 'v' || (i % 3) AS few, CASE WHEN i % 11 = 0 THEN NULL ELSE 'u-' || i END AS "unique",
      CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', 300) || i END AS wide FROM range(${n}) t(i)`;
    const diff = await duck.connection.runAndReadAll(
      `SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet('${p}') EXCEPT ALL ${reference}))::INT AS extra,
        (SELECT count(*) FROM (${reference} EXCEPT ALL SELECT * FROM read_parquet('${p}')))::INT AS missing`,
    );
    expect(diff.getRowObjectsJson()).toEqual([{ extra: 0, missing: 0 }]);
    const encodings = new Map(
      (await duck.connection.runAndReadAll(`SELECT path_in_schema, encodings FROM parquet_metadata('${p}')`)).getRowObjectsJson().map((r) => [String(r["path_in_schema"]), String(r["encodings"])]),
    );
    expect(encodings.get("few")).toMatch(/RLE_DICTIONARY/);
    expect(encodings.get("unique")).toMatch(/RLE_DICTIONARY/);
    // Data pages of each chunk, by encoding: 8 = RLE_DICTIONARY, 0 = PLAIN (after the dictionary filled up).
    expect(dataPageEncodings(written.bytes, "few")).toEqual(new Set([8]));
    expect(dataPageEncodings(written.bytes, "unique")).toEqual(new Set([8, 0]));
    expect(dataPageEncodings(written.bytes, "wide")).toEqual(new Set([8, 0]));
    // The same file without dictionaries holds the same values and metrics.
    const plainFile = writeParquetFile({ fields, rows, codec: "uncompressed" });
    expect(await readBack(plainFile.bytes, fields)).toEqual(rows);
    checkMetrics(written.metrics, fields, rows);
    const plainOnly = encodeColumnarParquet({ fields, rows, rowGroupRows: n, dictionary: false, createdBy: "test" });
    expect(await readBack(plainOnly.bytes, fields)).toEqual(rows);
  });

  it("writes a readable file with zero rows and with only nulls", async () => {
    const empty = writeParquetFile({ fields: FIELDS, rows: [] });
    expect(await readBack(empty.bytes, FIELDS)).toEqual([]);
    expect(empty.metrics.lowerBounds.size).toBe(0);
    const nullsOnly = Array.from({ length: 10 }, (_, i) => [BigInt(i), ...TYPES.map(() => null)]);
    const allNull = writeParquetFile({ fields: FIELDS, rows: nullsOnly });
    expect(await readBack(allNull.bytes, FIELDS)).toEqual(nullsOnly);
    expect(allNull.metrics.nullValueCounts.get(10)).toBe(10n);
    expect(allNull.metrics.lowerBounds.has(10)).toBe(false);
    const p = join(dir, "nulls.parquet");
    await writeFile(p, allNull.bytes);
    const n = await duck.connection.runAndReadAll(`SELECT count(*)::INT AS n, count("c_string")::INT AS s FROM read_parquet('${p}')`);
    expect(n.getRowObjectsJson()).toEqual([{ n: 10, s: 0 }]);
  });

  it("refuses values that do not fit, naming the column and never the value", () => {
    const attempt = (type: string, value: unknown, required = false): unknown => {
      try {
        writeParquetFile({ fields: [{ id: 1, name: "col_x", required, type }], rows: [[value]] });
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const cases: [string, unknown, boolean][] = [
      ["long", null, true],
      ["int", 2147483648, false],
      ["int", "secret-text", false],
      ["long", 1.5, false],
      ["long", 9223372036854775808n, false],
      ["string", 12345, false],
      ["uuid", new Uint8Array(3), false],
      ["decimal(38,2)", 10n ** 40n, false],
      ["boolean", "secret-text", false],
    ];
    for (const [type, value, required] of cases) {
      const error = attempt(type, value, required);
      expect(error, `${type} ${String(value)}`).toBeInstanceOf(ZeroEtlError);
      expect((error as ZeroEtlError).code).toBe("record-rejected");
      expect((error as Error).message).toContain("col_x");
      expect((error as Error).message).not.toContain("secret");
      if (value !== null) expect((error as Error).message).not.toContain(String(value));
    }
  });

  it("round-trips random strings, longs, doubles, bytes and decimals with nulls (property)", async () => {
    const fields: IcebergField[] = [
      { id: 1, name: "s", required: false, type: "string" },
      { id: 2, name: "l", required: false, type: "long" },
      { id: 3, name: "d", required: false, type: "double" },
      { id: 4, name: "b", required: false, type: "binary" },
      { id: 5, name: "m", required: false, type: "decimal(38,0)" },
    ];
    const maxDecimal = 10n ** 38n - 1n;
    const row = fc.tuple(
      fc.option(fc.string({ unit: "grapheme", maxLength: 30 }), { nil: null }),
      fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null }),
      fc.option(fc.double(), { nil: null }),
      fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }),
      fc.option(fc.bigInt({ min: -maxDecimal, max: maxDecimal }).map((v) => v.toString()), { nil: null }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 70 }), async (rows, groupRows) => {
        const logicalRows = rows.map((r) => [...r] as Value[]);
        const written = writeParquetFile({ fields, rows: logicalRows.map((r) => encode(r, fields)), rowGroupRows: groupRows });
        expect(await readBack(written.bytes, fields)).toEqual(logicalRows);
        checkMetrics(written.metrics, fields, logicalRows);
      }),
      { numRuns: 60 },
    );
  });

  it("leaves values hyparquet's default parsers read as typed values (dates, timestamps, decimals)", async () => {
    const rows = (await parquetReadObjects({ file: file.bytes.buffer.slice(file.bytes.byteOffset, file.bytes.byteOffset + file.bytes.byteLength) as ArrayBuffer, rowEnd: 30 })) as Record<string, unknown>[];
    const r = rows[1];
    const l = logical[1] as Value[];
    expect(r?.["c_timestamptz"]).toEqual(new Date(Number(toIcebergValue("timestamptz", l[12] as Value) as bigint / 1000n)));
    expect(r?.["c_decimal_9_2_"]).toBeCloseTo(Number(l[6]), 2);
    expect(r?.["c_string"]).toBe(l[13]);
  });
});

describe("parquet file writer: a flat table through the sink", () => {
  it("commits flat data files that icebird, DuckDB and our reader read back", async () => {
    const warehouse = await mkdtemp(join(tmpdir(), "zetl-parquet-flat-sink-"));
    const restoreFetch = serveLocalFilesToFetch();
    const sink = createIcebergSink({ warehouse, namespace: "lake" });
    const duck = await openDuckDb();
    try {
      await sink.open({ pipeline: "flat" });
      // The orders schema without its list column, so data files take the flat path.
      const schema = ordersSchema();
      const flat = { ...schema, columns: schema.columns.filter((c) => c.type.kind !== "list") };
      await sink.prepare(flat);
      const rows = Array.from({ length: 300 }, (_, i) => {
        const { tags: _tags, ...row } = orderRow(i + 1);
        return i % 10 === 0 ? { ...row, name: null, ts: null, ratio: null } : row;
      });
      await sink.writeSnapshot({ table: flat.table, schema: flat, rows: rows as Row[], chunk: 0, last: true, rowsRead: rows.length });
      await sink.flush({ pipeline: "flat", phase: "streaming", position: "1", tables: {}, savedAt: new Date().toISOString() });
      const location = join(warehouse, "lake", "orders");

      const ours = (await readIcebergTable({ store: createLocalObjectStore(), location })).rows;
      const byId = (a: Row, b: Row): number => Number(a["id"]) - Number(b["id"]);
      expect([...ours].sort(byId).map(plain)).toEqual(rows.map(plain));

      const viaIcebird = (await icebergRead({ tableUrl: location })) as Record<string, unknown>[];
      expect(viaIcebird).toHaveLength(rows.length);
      const second = viaIcebird.find((r) => r["id"] === 2n);
      expect(second).toMatchObject({ name: "name-2", qty: 6, ratio: 0.5, flag: true });
      expect(viaIcebird.find((r) => r["id"] === 1n)?.["name"]).toBeNull();

      const meta = (await sink.describeTable(flat.table))?.metadata as TableMetadata;
      const { files } = await listLiveFiles(createLocalObjectStore(), meta);
      expect(files).toHaveLength(1);
      const path = files[0]?.file.file_path ?? "";
      const sums = await duck.connection.runAndReadAll(
        `SELECT count(*)::INT AS n, count(name)::INT AS names, sum(qty)::INT AS q, max(uid)::VARCHAR AS u, min(day)::VARCHAR AS d FROM read_parquet('${path}')`,
      );
      expect(sums.getRowObjectsJson()).toEqual([
        { n: 300, names: 270, q: rows.reduce((a, r) => a + Number(r["qty"]), 0), u: "00000000-0000-4000-8000-000000000300", d: "2024-03-01" },
      ]);
    } finally {
      duck.close();
      restoreFetch();
      await sink.close();
      await rm(warehouse, { recursive: true, force: true });
    }
  });
});

describe("value conversion on the write path", () => {
  /** The spec's meaning, spelled out with strings and BigInt: sign, digits, scale padding, precision. */
  function oracle(text: string, precision: number, scale: number): bigint | "error" {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
    if (m === null || (m[2] ?? "") + (m[3] ?? "") === "") return "error";
    const frac = m[3] ?? "";
    if (frac.length > scale && /[1-9]/.test(frac.slice(scale))) return "error";
    const digits = ((m[2] ?? "") + frac.slice(0, scale).padEnd(scale, "0")).replace(/^0+/, "");
    if (digits.length > precision) return "error";
    const v = digits === "" ? 0n : BigInt(digits);
    return m[1] === "-" ? -v : v;
  }

  it("parses decimal strings exactly like the general rule, short and long (property)", () => {
    const digitString = (max: number): fc.Arbitrary<string> => fc.array(fc.constantFrom(..."0123456789"), { maxLength: max }).map((a) => a.join(""));
    const text = fc.tuple(fc.constantFrom("", "-", "+"), digitString(22), fc.option(digitString(12), { nil: undefined })).map(([sign, int, frac]) => (frac === undefined ? `${sign}${int}` : `${sign}${int}.${frac}`));
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 38 }), fc.integer({ min: 0, max: 12 }), (t, p, sc) => {
        const scale = Math.min(sc, p);
        const type = `decimal(${p},${scale})`;
        const want = oracle(t, p, scale);
        let got: unknown;
        try {
          got = toIcebergValue(type, t);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
          got = "error";
        }
        expect(got, `${t} as ${type}`).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it("parses timestamps to exact microseconds inside and outside the double-exact range", () => {
    expect(toIcebergValue("timestamptz", "2024-02-29T23:59:59.999999Z")).toBe(1709251199999999n);
    expect(toIcebergValue("timestamptz", "2024-02-29T23:59:59.999999+02:00")).toBe(1709243999999999n);
    expect(toIcebergValue("timestamp", "1969-12-31T23:59:59.000001")).toBe(-999999n);
    expect(toIcebergValue("timestamp", "9999-12-31T23:59:59.999999")).toBe(253402300799999999n);
    expect(toIcebergValue("timestamp", "0100-01-01T00:00:00.000001")).toBe(-59011459199999999n);
  });
});

describe("parquet file writer: list and struct columns", () => {
  const list = (id: number, element: IcebergField["type"], required = false): IcebergField["type"] => ({ type: "list", "element-id": id, "element-required": required, element });
  const fields: IcebergField[] = [
    { id: 1, name: "id", required: true, type: "long" },
    { id: 2, name: "tags", required: false, type: list(20, "string") },
    { id: 3, name: "point", required: false, type: { type: "struct", fields: [{ id: 30, name: "x", required: true, type: "double" }, { id: 31, name: "y", required: false, type: "long" }] } },
    { id: 4, name: "items", required: true, type: list(40, { type: "struct", fields: [{ id: 41, name: "sku", required: true, type: "string" }, { id: 42, name: "qty", required: false, type: "int" }] }, true) },
    { id: 5, name: "matrix", required: false, type: list(50, list(51, "int")) },
    { id: 6, name: "flags", required: false, type: list(60, "boolean") },
    { id: 7, name: "amounts", required: false, type: list(70, "decimal(38,10)") },
    { id: 8, name: "ts", required: false, type: "timestamptz" },
  ];
  const row = (i: number): unknown[] => [
    BigInt(i),
    i % 5 === 0 ? null : i % 5 === 1 ? [] : [`t${i}`, null, "x".repeat(i % 40)],
    i % 3 === 0 ? null : { x: i / 8, y: i % 2 === 0 ? null : BigInt(-i) },
    Array.from({ length: i % 4 }, (_, k) => ({ sku: `s${i}-${k}`, qty: k === 1 ? null : k * i })),
    i % 6 === 0 ? null : [[i, null], [], null, [i * 2]],
    i % 7 === 0 ? [true, false, null] : [i % 2 === 0],
    i % 4 === 0 ? null : [BigInt(i) * 10n ** 20n, -1n, null],
    i % 9 === 0 ? null : 1_700_000_000_000_000n + BigInt(i),
  ];

  it("shreds nested values into levels that hyparquet and DuckDB read back like the hyparquet-writer file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zetl-parquet-nested-"));
    const duck = await openDuckDb();
    try {
      const rows = Array.from({ length: 3000 }, (_, i) => row(i));
      const ours = writeParquetFile({ fields, rows, rowGroupRows: 1100 });
      const theirs = writeParquetFile({ fields, rows, rowGroupRows: 1100, encoder: "hyparquet" });
      const hy = async (bytes: Uint8Array): Promise<unknown[]> => (await readParquetByFieldId(bytes)).rows.map((m) => [...m.entries()]);
      expect(await hy(ours.bytes)).toEqual(await hy(theirs.bytes));
      // Small pages: nested leaves split at row boundaries (between row blocks), still the same values.
      const paged = encodeColumnarParquet({ fields, rows, rowGroupRows: 3000, pageBytes: 700, createdBy: "test" });
      expect(await hy(paged.bytes)).toEqual(await hy(theirs.bytes));
      expect(dataPageCount(paged.bytes, "items.list.element.sku")).toBe(2);

      const paths = { ours: join(dir, "ours.parquet"), theirs: join(dir, "theirs.parquet"), paged: join(dir, "paged.parquet") };
      await writeFile(paths.ours, ours.bytes);
      await writeFile(paths.theirs, theirs.bytes);
      await writeFile(paths.paged, paged.bytes);
      const read = async (p: string): Promise<unknown> => (await duck.connection.runAndReadAll(`SELECT * FROM read_parquet('${p}') ORDER BY id`)).getRowObjectsJson();
      const reference = await read(paths.theirs);
      expect(await read(paths.ours)).toEqual(reference);
      expect(await read(paths.paged)).toEqual(reference);
      const schema = async (p: string): Promise<unknown> =>
        (await duck.connection.runAndReadAll(`SELECT name, type, repetition_type, field_id, converted_type, logical_type FROM parquet_schema('${p}')`)).getRowObjectsJson();
      expect(await schema(paths.ours)).toEqual(await schema(paths.theirs));

      for (const key of ["valueCounts", "nullValueCounts", "lowerBounds", "upperBounds"] as const) {
        const hex = (m: ReadonlyMap<number, unknown>): unknown => [...m].map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v]);
        expect(hex(ours.metrics[key]), key).toEqual(hex(theirs.metrics[key]));
      }
      expect([...ours.metrics.columnSizes.keys()].sort((a, b) => a - b)).toEqual([...theirs.metrics.columnSizes.keys()].sort((a, b) => a - b));
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses nested values that do not fit, naming the column", () => {
    const bad: unknown[][] = [[1n, ["ok"], null, [{ sku: null, qty: 1 }], null, null, null, null]];
    expect(() => writeParquetFile({ fields, rows: bad })).toThrow(/column items, row 0/);
    const notList: unknown[][] = [[1n, "secret", null, [], null, null, null, null]];
    expect(() => writeParquetFile({ fields, rows: notList })).toThrow(ZeroEtlError);
    expect(() => writeParquetFile({ fields, rows: notList })).not.toThrow(/secret/);
  });
});
