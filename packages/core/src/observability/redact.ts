const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^:/?#@\s]+):([^@/?#\s]+)@/gi;
const SECRET_PARAMS = /((?:password|passwd|pwd|secret|token|sslkey|secretAccessKey|sessionToken)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,)]+)/gi;
const SECRET_KEYS = /pass(word)?|secret|token|credential|private|^key$|sslkey|authorization/i;

/** Removes passwords from connection URLs and `key=value` secrets in free text. */
export function redactText(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1$2:***@").replace(SECRET_PARAMS, "$1***");
}

/**
 * Returns a copy of a config or log object with secret-looking fields
 * replaced by `***` and URL passwords removed. Use on anything logged.
 */
export function redactSecrets<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return redactText(value.message);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) && v !== undefined && v !== null ? "***" : redactValue(v, depth + 1);
  return out;
}
