/** Quotes an SQL identifier with double quotes, doubling any inside. Every identifier in rendered DDL goes through it. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
