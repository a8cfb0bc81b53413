import type { Rng } from "./prng.js";

// Code points chosen to break encoders: quotes, escapes, controls, combining
// marks, non-BMP (astral) characters, a non-breaking space, a ligature.
const CHARS = ["a", "Z", "0", " ", "'", '"', "\\", "\n", "\t", "é", "ß", "Ω", "中", "文", "😀", "𝄞", "🦄", "\u0301", "ﬀ", "\u00a0", "%", "_", "{", "}", ",", "=>"];

/** A random string of 0..maxChars code points (empty with probability 0.1). */
export function randomText(rng: Rng, maxChars: number): string {
  if (rng.chance(0.1)) return "";
  const n = rng.int(1, Math.max(1, maxChars));
  let out = "";
  let count = 0;
  while (count < n) {
    const c = rng.pick(CHARS);
    if (count + [...c].length > n) break;
    out += c;
    count += [...c].length;
  }
  return out === "" ? "x" : out;
}

/** Random digits of the given length, first digit non-zero unless length 1. */
export function randomDigits(rng: Rng, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += String(i === 0 && length > 1 ? rng.int(1, 9) : rng.int(0, 9));
  return out;
}

/** A decimal that fits `numeric(precision, scale)`, as text; sometimes the largest one. */
export function randomDecimal(rng: Rng, precision: number, scale: number): string {
  const intMax = precision - scale;
  const sign = rng.chance(0.4) ? "-" : "";
  if (rng.chance(0.1)) return `${sign}${"9".repeat(intMax) || "0"}${scale > 0 ? `.${"9".repeat(scale)}` : ""}`;
  const intPart = intMax === 0 ? "0" : randomDigits(rng, rng.int(1, intMax));
  const frac = scale === 0 ? "" : randomDigits(rng, rng.int(0, scale)).replace(/^$/, "");
  return `${sign}${intPart}${frac === "" ? "" : `.${frac.padStart(1, "0")}`}`;
}

/** A random finite double: random magnitude over many decades, sometimes an extreme. */
export function randomDouble(rng: Rng): number {
  const extremes = [0, 1, -1, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308, 0.1, 1e21, 123456789.12345679];
  if (rng.chance(0.2)) return rng.pick(extremes);
  const mantissa = rng.next() * 2 - 1;
  return mantissa * 10 ** rng.int(-30, 30);
}

/** A random float32 value (already rounded with Math.fround). */
export function randomFloat(rng: Rng): number {
  const extremes = [0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1.1754943508222875e-38, 0.1];
  if (rng.chance(0.2)) return Math.fround(rng.pick(extremes));
  return Math.fround((rng.next() * 2 - 1) * 10 ** rng.int(-20, 20));
}

/** Random bytes (0..maxLength). */
export function randomBytes(rng: Rng, maxLength: number): Uint8Array {
  const out = new Uint8Array(rng.int(0, maxLength));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 255);
  return out;
}

/** A random JSON document as text: nested objects and lists, long numbers, unicode keys and strings. */
export function randomJson(rng: Rng, depth = 0): string {
  const roll = rng.int(0, depth >= 3 ? 4 : 6);
  switch (roll) {
    case 0:
      return "null";
    case 1:
      return rng.pick(["true", "false"]);
    case 2:
      return rng.pick(["0", "-1", "1.5", "123456789012345678901234567890", "1e-7", "0.10", "-0.000001", String(rng.int(-1000, 1000))]);
    case 3:
    case 4:
      return JSON.stringify(randomText(rng, 6));
    case 5: {
      const n = rng.int(0, 3);
      return `[${Array.from({ length: n }, () => randomJson(rng, depth + 1)).join(", ")}]`;
    }
    default: {
      const n = rng.int(0, 3);
      const keys = new Set<string>();
      for (let i = 0; i < n; i++) keys.add(rng.pick(["a", "b", "k é", "😀", "", "n", "list", "x.y"]));
      return `{${[...keys].map((k) => `${JSON.stringify(k)}: ${randomJson(rng, depth + 1)}`).join(", ")}}`;
    }
  }
}

/** A date `YYYY-MM-DD` between 1900 and 2100. */
export function randomDate(rng: Rng): string {
  const d = new Date(Date.UTC(1900, 0, 1) + rng.int(0, 73000) * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/** `HH:MM:SS.ffffff` with 0..6 fraction digits. */
export function randomTimeOfDay(rng: Rng): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const fraction = rng.chance(0.3) ? "" : `.${randomDigits(rng, rng.int(1, 6)).padStart(1, "0")}`;
  return `${pad(rng.int(0, 23))}:${pad(rng.int(0, 59))}:${pad(rng.int(0, 59))}${fraction}`;
}

/** A random RFC 4122 version-4 UUID. */
export function randomUuid(rng: Rng): string {
  const hex = () => rng.int(0, 15).toString(16);
  const part = (n: number) => Array.from({ length: n }, hex).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-${rng.pick(["8", "9", "a", "b"])}${part(3)}-${part(12)}`;
}
