/**
 * Builds a matcher for a pattern with a many-character wildcard and a
 * one-character wildcard (`%`/`_` for LIKE, `*`/`?` for table globs). It runs
 * in O(text × pattern) at worst, with no regular expression, so a pattern
 * like `%a%a%a%b` cannot make a long value backtrack exponentially.
 */
export function createWildcardMatcher(pattern: string, many: string, one: string): (text: string) => boolean {
  const chars = [...pattern];
  if (!chars.includes(many) && !chars.includes(one)) return (text) => text === pattern;
  if (chars.every((c) => c === many)) return () => true;
  return (text) => {
    const input = [...text];
    let p = 0;
    let t = 0;
    let star = -1;
    let mark = 0;
    while (t < input.length) {
      const c = chars[p];
      if (c !== undefined && c !== many && (c === one || c === input[t])) {
        p++;
        t++;
      } else if (c === many) {
        star = p++;
        mark = t;
      } else if (star >= 0) {
        p = star + 1;
        t = ++mark;
      } else return false;
    }
    while (chars[p] === many) p++;
    return p === chars.length;
  };
}
