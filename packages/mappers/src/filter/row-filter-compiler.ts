import type { Row, Value } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { compareDecimalText, isDecimalText } from "./decimal-comparator.js";
import type { FilterOperand, RowFilterNode } from "./row-filter-parser.js";
import { parseRowFilter } from "./row-filter-parser.js";
import { createWildcardMatcher } from "./wildcard-matcher.js";

/** A compiled row predicate. */
export interface RowPredicate {
  (row: Row): boolean;
  /** The columns the expression reads. */
  readonly columns: readonly string[];
}

/** Options of {@link compileRowFilter}. */
export interface CompileRowFilterOptions {
  /** The config path named by errors. Default `filter.rows`. */
  readonly path?: string | undefined;
  /** When given, a reference to any other column is a {@link ConfigError}. */
  readonly columns?: readonly string[] | undefined;
}

// three-valued logic: true, false, or null for SQL "unknown"
type Truth = boolean | null;
type Evaluator = (row: Row) => Truth;
type Getter = (row: Row) => Value | undefined;

function numericText(value: Value | undefined): string | undefined {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "string" && isDecimalText(value)) return value;
  return undefined;
}

/** Compares a cell with another value; undefined when the two cannot be compared. */
function compareValues(a: Value | undefined, b: Value | undefined, numericHint: boolean): number | undefined {
  if (a === null || a === undefined || b === null || b === undefined) return undefined;
  if (typeof a === "boolean" || typeof b === "boolean") return typeof a === typeof b ? Number(a) - Number(b) : undefined;
  const numeric = numericHint || typeof a === "number" || typeof a === "bigint" || typeof b === "number" || typeof b === "bigint";
  if (numeric) {
    const x = numericText(a);
    const y = numericText(b);
    if (x === undefined || y === undefined) return undefined;
    return compareDecimalText(x, y);
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function getter(operand: FilterOperand): { get: Getter; numeric: boolean } {
  switch (operand.kind) {
    case "column": {
      const name = operand.name;
      return { get: (row) => row[name], numeric: false };
    }
    case "string": {
      const value = operand.value;
      return { get: () => value, numeric: false };
    }
    case "number": {
      const text = operand.text;
      return { get: () => text, numeric: true };
    }
    case "bool": {
      const value = operand.value;
      return { get: () => value, numeric: false };
    }
    default:
      return { get: () => null, numeric: false };
  }
}

function compile(node: RowFilterNode): Evaluator {
  switch (node.kind) {
    case "and": {
      const l = compile(node.left);
      const r = compile(node.right);
      return (row) => {
        const a = l(row);
        if (a === false) return false;
        const b = r(row);
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case "or": {
      const l = compile(node.left);
      const r = compile(node.right);
      return (row) => {
        const a = l(row);
        if (a === true) return true;
        const b = r(row);
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
    case "not": {
      const inner = compile(node.operand);
      return (row) => {
        const v = inner(row);
        return v === null ? null : !v;
      };
    }
    case "compare": {
      const left = getter(node.left);
      const right = getter(node.right);
      const numeric = left.numeric || right.numeric;
      const test: (c: number) => boolean =
        node.op === "="
          ? (c) => c === 0
          : node.op === "!="
            ? (c) => c !== 0
            : node.op === "<"
              ? (c) => c < 0
              : node.op === "<="
                ? (c) => c <= 0
                : node.op === ">"
                  ? (c) => c > 0
                  : (c) => c >= 0;
      return (row) => {
        const c = compareValues(left.get(row), right.get(row), numeric);
        return c === undefined ? null : test(c);
      };
    }
    case "in": {
      const subject = getter(node.operand);
      const values = node.values.map(getter);
      const negated = node.negated;
      return (row) => {
        const value = subject.get(row);
        if (value === null || value === undefined) return null;
        let unknown = false;
        for (const candidate of values) {
          const c = compareValues(value, candidate.get(row), subject.numeric || candidate.numeric);
          if (c === 0) return !negated;
          if (c === undefined) unknown = true;
        }
        return unknown ? null : negated;
      };
    }
    case "is-null": {
      const subject = getter(node.operand);
      const negated = node.negated;
      return (row) => {
        const value = subject.get(row);
        return (value === null || value === undefined) !== negated;
      };
    }
    case "like": {
      const subject = getter(node.operand);
      // backslash escapes a wildcard, as in PostgreSQL and MySQL (their default ESCAPE)
      const matches = createWildcardMatcher(node.pattern, "%", "_", "\\");
      const negated = node.negated;
      return (row) => {
        const value = subject.get(row);
        if (value === null || value === undefined || typeof value === "object") return null;
        return matches(String(value)) !== negated;
      };
    }
    case "truthy": {
      const subject = getter(node.operand);
      return (row) => {
        const value = subject.get(row);
        return value === null || value === undefined ? null : value === true;
      };
    }
  }
}

function collectColumns(node: RowFilterNode, into: Set<string>): void {
  const operand = (o: FilterOperand): void => {
    if (o.kind === "column") into.add(o.name);
  };
  switch (node.kind) {
    case "and":
    case "or":
      collectColumns(node.left, into);
      collectColumns(node.right, into);
      return;
    case "not":
      collectColumns(node.operand, into);
      return;
    case "compare":
      operand(node.left);
      operand(node.right);
      return;
    case "in":
      operand(node.operand);
      node.values.forEach(operand);
      return;
    default:
      operand(node.operand);
  }
}

/**
 * Compiles a row filter (see {@link parseRowFilter} for the language) into
 * a predicate built from the syntax tree: no `eval`, no `Function`. SQL
 * semantics: a comparison with NULL is unknown and an unknown result drops
 * the row. Numbers compare exactly: a literal against a `bigint`, a number
 * or a decimal string compares digit by digit, never through a float.
 * Strings compare by code unit, so ISO dates and timestamps order correctly.
 */
export function compileRowFilter(expression: string, options: CompileRowFilterOptions = {}): RowPredicate {
  const path = options.path ?? "filter.rows";
  const tree = parseRowFilter(expression, path);
  const used = new Set<string>();
  collectColumns(tree, used);
  if (options.columns !== undefined) {
    const known = new Set(options.columns);
    for (const name of used) if (!known.has(name)) throw new ConfigError(path, `columns of the table (${options.columns.join(", ")})`, `unknown column ${JSON.stringify(name)}`);
  }
  const evaluate = compile(tree);
  const predicate = (row: Row): boolean => evaluate(row) === true;
  return Object.assign(predicate, { columns: Object.freeze([...used]) });
}
