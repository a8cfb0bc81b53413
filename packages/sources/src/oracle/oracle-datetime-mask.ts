/**
 * Reads Oracle datetime texts by their format mask (the second argument of
 * `TO_DATE`/`TO_TIMESTAMP`/`TO_TIMESTAMP_TZ`, or the session's NLS format
 * when LogMiner prints none) into calendar fields.
 */

/**
 * The NLS formats the LogMiner session must set (`ALTER SESSION SET …`)
 * before `DBMS_LOGMNR.START_LOGMNR`: `SQL_REDO` prints `TO_TIMESTAMP('…')`
 * and `TO_TIMESTAMP_TZ('…')` without a mask, in these formats, and they are
 * the decoder's defaults for a literal without a mask.
 */
export const ORACLE_SESSION_NLS_FORMATS = Object.freeze({
  NLS_DATE_FORMAT: "YYYY-MM-DD HH24:MI:SS",
  NLS_TIMESTAMP_FORMAT: "YYYY-MM-DD HH24:MI:SS.FF",
  NLS_TIMESTAMP_TZ_FORMAT: "YYYY-MM-DD HH24:MI:SS.FF TZH:TZM",
  NLS_NUMERIC_CHARACTERS: ".,",
});

/** Calendar fields of a datetime text; `offsetMinutes`/`zone` only when the mask has a zone. */
export interface OracleDatetimeFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Fractional seconds as nine digits (nanoseconds). */
  nanos: number;
  offsetMinutes: number | undefined;
  /** A `TZR` region name (`Europe/Paris`) when the text names one instead of an offset. */
  zone: string | undefined;
}

type MaskElement =
  | { readonly kind: "year"; readonly digits: number; readonly signed: boolean; readonly rr: boolean }
  | { readonly kind: "month" | "day" | "hour24" | "hour12" | "minute" | "second" }
  | { readonly kind: "month-name"; readonly full: boolean }
  | { readonly kind: "fraction" }
  | { readonly kind: "meridian" }
  | { readonly kind: "era" }
  | { readonly kind: "tzh" | "tzm" | "tzr" | "tzd" }
  | { readonly kind: "skip-word" }
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "separator" };

const MONTHS = ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER"];

// Longest first, so that HH24 wins over HH and SYYYY over YYYY.
const TOKENS: ReadonlyArray<readonly [string, MaskElement]> = [
  ["SYYYY", { kind: "year", digits: 4, signed: true, rr: false }],
  ["YYYY", { kind: "year", digits: 4, signed: false, rr: false }],
  ["RRRR", { kind: "year", digits: 4, signed: false, rr: false }],
  ["YYY", { kind: "year", digits: 3, signed: false, rr: false }],
  ["YY", { kind: "year", digits: 2, signed: false, rr: false }],
  ["RR", { kind: "year", digits: 2, signed: false, rr: true }],
  ["MONTH", { kind: "month-name", full: true }],
  ["MON", { kind: "month-name", full: false }],
  ["MM", { kind: "month" }],
  ["DDD", { kind: "skip-word" }],
  ["DAY", { kind: "skip-word" }],
  ["DY", { kind: "skip-word" }],
  ["DD", { kind: "day" }],
  ["HH24", { kind: "hour24" }],
  ["HH12", { kind: "hour12" }],
  ["HH", { kind: "hour12" }],
  ["MI", { kind: "minute" }],
  ["SSSSS", { kind: "skip-word" }],
  ["SS", { kind: "second" }],
  ["FF", { kind: "fraction" }],
  ["A.M.", { kind: "meridian" }],
  ["P.M.", { kind: "meridian" }],
  ["AM", { kind: "meridian" }],
  ["PM", { kind: "meridian" }],
  ["B.C.", { kind: "era" }],
  ["A.D.", { kind: "era" }],
  ["BC", { kind: "era" }],
  ["AD", { kind: "era" }],
  ["TZH", { kind: "tzh" }],
  ["TZM", { kind: "tzm" }],
  ["TZR", { kind: "tzr" }],
  ["TZD", { kind: "tzd" }],
  ["X", { kind: "literal", text: "." }],
  ["D", { kind: "skip-word" }],
];

const maskCache = new Map<string, readonly MaskElement[]>();

function compileMask(mask: string): readonly MaskElement[] {
  const cached = maskCache.get(mask);
  if (cached !== undefined) return cached;
  const upper = mask.toUpperCase();
  const elements: MaskElement[] = [];
  let i = 0;
  outer: while (i < upper.length) {
    const c = upper.charCodeAt(i);
    if (c === 0x22) {
      const close = upper.indexOf('"', i + 1);
      const end = close < 0 ? upper.length : close;
      elements.push({ kind: "literal", text: mask.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    // FM and FX change padding and exactness only; the reader below is lenient anyway.
    if (upper.startsWith("FM", i) || upper.startsWith("FX", i)) {
      i += 2;
      continue;
    }
    for (const [token, element] of TOKENS) {
      if (upper.startsWith(token, i)) {
        elements.push(element);
        i += token.length;
        // FF1..FF9: the digit only bounds the printed width.
        if (token === "FF" && i < upper.length && upper.charCodeAt(i) >= 0x31 && upper.charCodeAt(i) <= 0x39) i++;
        continue outer;
      }
    }
    if (isAlnum(c)) throw new Error(`unknown element at "${mask.slice(i)}" in the datetime format ${mask}`);
    elements.push({ kind: "separator" });
    i++;
  }
  if (maskCache.size > 64) maskCache.clear();
  maskCache.set(mask, elements);
  return elements;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Reads `text` by `mask` as Oracle's `TO_DATE`/`TO_TIMESTAMP[_TZ]` would:
 * separators in the mask match any punctuation or none, numeric fields take
 * up to their width in digits. Two-digit `RR` years follow Oracle's rule
 * taken relative to the year 2000 (00–49 → 20xx, 50–99 → 19xx); `YY` is
 * 20xx. English month names only.
 *
 * @throws Error describing the mismatch (the caller adds the column).
 */
export function readOracleDatetime(text: string, mask: string): OracleDatetimeFields {
  const elements = compileMask(mask);
  const fields: OracleDatetimeFields = {
    year: 1,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    nanos: 0,
    offsetMinutes: undefined,
    zone: undefined,
  };
  let pm: boolean | undefined;
  let bc = false;
  let hour12 = false;
  let tzSign = 1;
  let pos = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (pos < n && text.charCodeAt(pos) === 0x20) pos++;
  };
  const readInt = (maxDigits: number, what: string): number => {
    skipSpace();
    const start = pos;
    let value = 0;
    while (pos < n && pos - start < maxDigits && isDigit(text.charCodeAt(pos))) {
      value = value * 10 + (text.charCodeAt(pos) - 0x30);
      pos++;
    }
    if (pos === start) throw new Error(`expected ${what} at position ${start} of "${text}" (format ${mask})`);
    return value;
  };
  for (const element of elements) {
    switch (element.kind) {
      case "year": {
        skipSpace();
        let sign = 1;
        if (element.signed && (text.charCodeAt(pos) === 0x2d || text.charCodeAt(pos) === 0x2b)) {
          if (text.charCodeAt(pos) === 0x2d) sign = -1;
          pos++;
        }
        const start = pos;
        const value = readInt(element.digits === 2 ? 4 : Math.max(element.digits, 4), "a year");
        const width = pos - start;
        if (element.digits === 2 && width <= 2) fields.year = element.rr && value >= 50 ? 1900 + value : 2000 + value;
        else fields.year = sign * value;
        break;
      }
      case "month":
        fields.month = readInt(2, "a month");
        break;
      case "month-name": {
        skipSpace();
        const start = pos;
        while (pos < n && isAlnum(text.charCodeAt(pos))) pos++;
        const word = text.slice(start, pos).toUpperCase();
        const index = MONTHS.findIndex((m) => (word.length === 3 ? m.startsWith(word) : m === word));
        if (index < 0) throw new Error(`expected a month name at position ${start} of "${text}" (format ${mask})`);
        fields.month = index + 1;
        break;
      }
      case "day":
        fields.day = readInt(2, "a day");
        break;
      case "hour24":
        fields.hour = readInt(2, "an hour");
        break;
      case "hour12":
        fields.hour = readInt(2, "an hour");
        hour12 = true;
        break;
      case "minute":
        fields.minute = readInt(2, "minutes");
        break;
      case "second":
        fields.second = readInt(2, "seconds");
        break;
      case "fraction": {
        // Oracle prints FF with as many digits as the column keeps; an empty fraction is zero.
        let nanos = 0;
        let digits = 0;
        while (pos < n && isDigit(text.charCodeAt(pos))) {
          if (digits < 9) nanos = nanos * 10 + (text.charCodeAt(pos) - 0x30);
          digits++;
          pos++;
        }
        for (let d = digits; d < 9; d++) nanos *= 10;
        fields.nanos = nanos;
        break;
      }
      case "meridian":
      case "era": {
        skipSpace();
        const start = pos;
        while (pos < n && (isAlnum(text.charCodeAt(pos)) || text.charCodeAt(pos) === 0x2e)) pos++;
        const word = text.slice(start, pos).toUpperCase().replaceAll(".", "");
        if (element.kind === "meridian") {
          if (word !== "AM" && word !== "PM") throw new Error(`expected AM or PM at position ${start} of "${text}" (format ${mask})`);
          pm = word === "PM";
        } else {
          if (word !== "AD" && word !== "BC") throw new Error(`expected AD or BC at position ${start} of "${text}" (format ${mask})`);
          bc = word === "BC";
        }
        break;
      }
      case "tzh": {
        skipSpace();
        const c = text.charCodeAt(pos);
        tzSign = 1;
        if (c === 0x2d || c === 0x2b) {
          tzSign = c === 0x2d ? -1 : 1;
          pos++;
        }
        fields.offsetMinutes = tzSign * 60 * readInt(2, "an offset hour");
        break;
      }
      case "tzm":
        fields.offsetMinutes = (fields.offsetMinutes ?? 0) + tzSign * readInt(2, "offset minutes");
        break;
      case "tzr": {
        skipSpace();
        const start = pos;
        while (pos < n && text.charCodeAt(pos) !== 0x20) pos++;
        const region = text.slice(start, pos);
        const offset = /^([+-])(\d{1,2}):(\d{2})$/.exec(region);
        if (offset !== null) {
          fields.offsetMinutes = (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
        } else if (region.length > 0) {
          fields.zone = region;
        } else {
          throw new Error(`expected a time zone at position ${start} of "${text}" (format ${mask})`);
        }
        break;
      }
      case "tzd":
      case "skip-word": {
        skipSpace();
        while (pos < n && isAlnum(text.charCodeAt(pos))) pos++;
        break;
      }
      case "literal": {
        skipSpace();
        if (text.startsWith(element.text, pos)) pos += element.text.length;
        break;
      }
      case "separator": {
        const c = text.charCodeAt(pos);
        if (pos < n && !isAlnum(c) && c !== 0x2d && c !== 0x2b) pos++;
        else if (c === 0x2d && !isPreviousZoneSign(elements, element)) pos++;
        break;
      }
    }
  }
  skipSpace();
  if (pos < n) throw new Error(`unexpected "${text.slice(pos)}" after the format ${mask} in "${text}"`);
  if (hour12) {
    if (fields.hour < 1 || fields.hour > 12) throw new Error(`hour ${fields.hour} is not 1-12 in "${text}" (format ${mask})`);
    fields.hour = (fields.hour % 12) + (pm === true ? 12 : 0);
  }
  // Oracle has no year 0: 1 BC is ISO year 0.
  if (bc) fields.year = 1 - fields.year;
  else if (fields.year < 0) fields.year = fields.year + 1;
  if (fields.month < 1 || fields.month > 12) throw new Error(`month ${fields.month} out of range in "${text}"`);
  if (fields.day < 1 || fields.day > daysInMonth(fields.year, fields.month)) throw new Error(`day ${fields.day} out of range in "${text}"`);
  if (fields.hour > 23 || fields.minute > 59 || fields.second > 59) throw new Error(`time of day out of range in "${text}"`);
  return fields;
}

// A separator right before TZH must leave the zone's sign to TZH.
function isPreviousZoneSign(elements: readonly MaskElement[], separator: MaskElement): boolean {
  const next = elements[elements.indexOf(separator) + 1];
  return next !== undefined && next.kind === "tzh";
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (any year). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC of an IANA zone at a UTC instant (milliseconds since the epoch). */
function zoneOffsetAt(zone: string, utcMillis: number): number {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
        era: "short",
      });
    } catch {
      throw new Error(`unknown time zone region ${zone}`);
    }
    zoneFormats.set(zone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(utcMillis))) parts[part.type] = part.value;
  let year = Number(parts["year"]);
  if (parts["era"] === "BC" || parts["era"] === "B") year = 1 - year;
  const local =
    (daysFromCivil(year, Number(parts["month"]), Number(parts["day"])) * 86400 +
      Number(parts["hour"]) * 3600 +
      Number(parts["minute"]) * 60 +
      Number(parts["second"])) *
    1000;
  return Math.round((local - Math.floor(utcMillis / 1000) * 1000) / 60000);
}

/**
 * Seconds since the epoch of the wall-clock fields in their zone: the
 * offset, or the region's offset in force at that local time (the earlier
 * instant when the local time occurs twice).
 */
export function toEpochSeconds(fields: OracleDatetimeFields): number {
  const local = daysFromCivil(fields.year, fields.month, fields.day) * 86400 + fields.hour * 3600 + fields.minute * 60 + fields.second;
  if (fields.offsetMinutes !== undefined) return local - fields.offsetMinutes * 60;
  if (fields.zone === undefined) return local;
  const first = zoneOffsetAt(fields.zone, local * 1000);
  const guess = local - first * 60;
  const second = zoneOffsetAt(fields.zone, guess * 1000);
  return second === first ? guess : local - Math.max(first, second) * 60;
}
