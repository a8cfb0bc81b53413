const MANY = 0;
const ONE = 1;
/** A pattern element: a literal character, or one of the two wildcards. */
type PatternToken = string | typeof MANY | typeof ONE;

/**
 * Builds a matcher for a pattern with a many-character wildcard and a
 * one-character wildcard (`%`/`_` for LIKE, `*`/`?` for table globs). With
 * `escape` (LIKE's `\`), the character after it is literal, so `a\_b`
 * matches only `a_b` and `\\` one backslash; an escape at the very end is a
 * literal backslash. It runs in O(text × pattern) at worst, with no regular
 * expression, so a pattern like `%a%a%a%b` cannot make a long value
 * backtrack exponentially.
 */
export function createWildcardMatcher(pattern: string, many: string, one: string, escape?: string): (text: string) => boolean {
  const tokens: PatternToken[] = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === escape && i + 1 < chars.length) tokens.push(chars[++i] as string);
    else tokens.push(c === many ? MANY : c === one ? ONE : c);
  }
  if (!tokens.includes(MANY) && !tokens.includes(ONE)) {
    const literal = tokens.join("");
    return (text) => text === literal;
  }
  if (tokens.every((c) => c === MANY)) return () => true;
  return (text) => {
    const input = [...text];
    let p = 0;
    let t = 0;
    let star = -1;
    let mark = 0;
    while (t < input.length) {
      const c = tokens[p];
      if (c !== undefined && c !== MANY && (c === ONE || c === input[t])) {
        p++;
        t++;
      } else if (c === MANY) {
        star = p++;
        mark = t;
      } else if (star >= 0) {
        p = star + 1;
        t = ++mark;
      } else return false;
    }
    while (tokens[p] === MANY) p++;
    return p === tokens.length;
  };
}
