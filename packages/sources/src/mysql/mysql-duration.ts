/**
 * MySQL `TIME` is a signed duration (`-838:59:59.000000` to
 * `838:59:59.000000`), not a time of day, so it is carried as the logical
 * `interval`: an ISO-8601 duration in PostgreSQL's `iso_8601` interval style,
 * each component signed (`PT-838H-59M-59S`, `PT-0.5S`, `PT0S`), so that
 * PostgreSQL reads it back as the same interval. Fraction digits keep what the
 * value has, without trailing zeros.
 */
export function formatMysqlDuration(negative: boolean, hours: number, minutes: number, seconds: number, micros: number): string {
  const sign = negative ? "-" : "";
  let out = "PT";
  if (hours !== 0) out += `${sign}${hours}H`;
  if (minutes !== 0) out += `${sign}${minutes}M`;
  if (seconds !== 0 || micros !== 0) {
    out += `${sign}${seconds}`;
    if (micros !== 0) out += `.${String(micros).padStart(6, "0").replace(/0+$/, "")}`;
    out += "S";
  }
  return out === "PT" ? "PT0S" : out;
}

const TIME_TEXT = /^(-)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/;

/** Converts the text protocol's `TIME` (`-838:59:59.000000`) to {@link formatMysqlDuration}'s form; undefined when it is not a TIME text. */
export function mysqlTimeTextToDuration(text: string): string | undefined {
  const m = TIME_TEXT.exec(text);
  if (m === null) return undefined;
  return formatMysqlDuration(m[1] === "-", Number(m[2]), Number(m[3]), Number(m[4]), Number((m[5] ?? "").padEnd(6, "0")));
}
