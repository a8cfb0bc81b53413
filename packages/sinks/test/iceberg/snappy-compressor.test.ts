import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { snappyUncompress } from "hyparquet/src/snappy.js";
import { compressSnappy, maxSnappyLength } from "../../src/iceberg/parquet/snappy-compressor.js";

function roundTrip(input: Uint8Array): Uint8Array {
  const compressed = compressSnappy(input);
  expect(compressed.length).toBeLessThanOrEqual(maxSnappyLength(input.length));
  const output = new Uint8Array(input.length);
  snappyUncompress(compressed, output);
  return output;
}

describe("snappy compressor", () => {
  it("round-trips through an independent decompressor (hyparquet) for random and repetitive inputs", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Small alphabets make many matches of every length and offset.
      fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5000 }).map((a) => Uint8Array.from(a)),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 })).map(([unit, times]) => {
        const out = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
        return out;
      }),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        expect(Buffer.from(roundTrip(input)).equals(Buffer.from(input))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("handles inputs spanning several 64 KiB blocks, long runs and incompressible data", () => {
    const zeros = new Uint8Array(200_000);
    const compressedZeros = compressSnappy(zeros);
    expect(compressedZeros.length).toBeLessThan(15_000);
    expect(Buffer.from(roundTrip(zeros)).equals(Buffer.from(zeros))).toBe(true);

    let seed = 12345;
    const noise = Uint8Array.from({ length: 150_000 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    });
    expect(Buffer.from(roundTrip(noise)).equals(Buffer.from(noise))).toBe(true);

    const text = new TextEncoder().encode(Array.from({ length: 20_000 }, (_, i) => `name-${i % 977};`).join(""));
    expect(compressSnappy(text).length).toBeLessThan(text.length / 2);
    expect(Buffer.from(roundTrip(text)).equals(Buffer.from(text))).toBe(true);

    expect(roundTrip(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });
});
