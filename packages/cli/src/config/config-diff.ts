/**
 * The fields whose values differ between two configs, as dotted paths
 * (`source.url`, `batch.maxRows`, `filter.include`), at most `depth` levels
 * deep (a difference further down is named by its ancestor at that depth);
 * a field present on one side only counts as changed. Values are compared,
 * never returned, so a secret in a URL never reaches a log through it.
 * Arrays compare as a whole.
 */
export function changedFields(before: unknown, after: unknown, depth = 2): string[] {
  const out: string[] = [];
  collect(before, after, "", depth, out);
  return out;
}

function collect(before: unknown, after: unknown, path: string, depth: number, out: string[]): void {
  // a section added or removed names its fields, as a changed one does
  const left = before === undefined && isRecord(after) ? {} : before;
  const right = after === undefined && isRecord(before) ? {} : after;
  if (isRecord(left) && isRecord(right) && depth > 0) {
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of [...keys].sort()) collect(left[key], right[key], path === "" ? key : `${path}.${key}`, depth - 1, out);
    return;
  }
  if (!sameValue(before, after)) out.push(path === "" ? "config" : path);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!sameValue(a[key], b[key])) return false;
    return true;
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
