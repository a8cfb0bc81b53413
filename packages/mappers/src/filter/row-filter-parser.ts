import { ConfigError } from "@zero-etl/core";

/** A literal of the row-filter language. Numbers keep their source text so comparisons stay exact. */
export type FilterLiteral =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" };

/** An operand: a column or a literal. */
export type FilterOperand = { readonly kind: "column"; readonly name: string } | FilterLiteral;

/** Comparison operators (`<>` is parsed as `!=`). */
export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** The syntax tree of a row filter. */
export type RowFilterNode =
  | { readonly kind: "and" | "or"; readonly left: RowFilterNode; readonly right: RowFilterNode }
  | { readonly kind: "not"; readonly operand: RowFilterNode }
  | { readonly kind: "compare"; readonly op: ComparisonOperator; readonly left: FilterOperand; readonly right: FilterOperand }
  | { readonly kind: "in"; readonly negated: boolean; readonly operand: FilterOperand; readonly values: readonly FilterOperand[] }
  | { readonly kind: "is-null"; readonly negated: boolean; readonly operand: FilterOperand }
  | { readonly kind: "like"; readonly negated: boolean; readonly operand: FilterOperand; readonly pattern: string }
  | { readonly kind: "truthy"; readonly operand: FilterOperand };

/** A syntax error in a row filter, with the 1-based column where it was found. */
export class RowFilterSyntaxError extends ConfigError {
  /** 1-based column of the offending token. */
  readonly column: number;

  constructor(options: { path: string; expression: string; column: number; expected: string }) {
    const caret = `${" ".repeat(options.column - 1)}^`;
    super(options.path, options.expected, `column ${options.column}:\n  ${options.expression}\n  ${caret}`);
    this.name = "RowFilterSyntaxError";
    this.column = options.column;
  }
}

type Token =
  | { readonly type: "ident" | "quoted" | "string" | "number" | "op" | "punct"; readonly text: string; readonly at: number }
  | { readonly type: "end"; readonly text: ""; readonly at: number };

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "TRUE", "FALSE"]);

function tokenize(expression: string, fail: (at: number, expected: string) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'" || c === '"') {
      // SQL quoting: the quote character doubled stands for itself
      let value = "";
      i++;
      for (;;) {
        if (i >= expression.length) fail(at, c === "'" ? "a closing ' for the string" : 'a closing " for the identifier');
        if (expression[i] === c) {
          if (expression[i + 1] === c) {
            value += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += expression[i];
        i++;
      }
      if (c === '"' && value === "") fail(at, "a non-empty quoted identifier");
      tokens.push({ type: c === "'" ? "string" : "quoted", text: value, at });
    } else if (/[0-9]/.test(c) || ((c === "-" || c === ".") && /[0-9.]/.test(expression[i + 1] ?? ""))) {
      const match = /-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/y;
      match.lastIndex = i;
      const m = match.exec(expression);
      if (m === null) fail(at, "a number");
      const text = (m as RegExpExecArray)[0];
      i += text.length;
      if (/[A-Za-z_]/.test(expression[i] ?? "")) fail(i, "an operator or the end after a number");
      tokens.push({ type: "number", text, at });
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /[A-Za-z_][A-Za-z0-9_$]*/y;
      match.lastIndex = i;
      const text = (match.exec(expression) as RegExpExecArray)[0];
      i += text.length;
      tokens.push({ type: "ident", text, at });
    } else {
      const two = expression.slice(i, i + 2);
      if (two === "<=" || two === ">=" || two === "<>" || two === "!=") {
        tokens.push({ type: "op", text: two === "<>" ? "!=" : two, at });
        i += 2;
      } else if (c === "=" || c === "<" || c === ">") {
        tokens.push({ type: "op", text: c, at });
        i++;
      } else if (c === "(" || c === ")" || c === ",") {
        tokens.push({ type: "punct", text: c, at });
        i++;
      } else fail(at, "a column, literal, operator or parenthesis");
    }
  }
  tokens.push({ type: "end", text: "", at: expression.length });
  return tokens;
}

/**
 * Parses a row filter: comparisons (`= != <> < <= > >=`), `[NOT] IN (...)`,
 * `IS [NOT] NULL`, `[NOT] LIKE 'pattern'` (`%` any run, `_` one character, `\` makes the next character literal),
 * `AND`/`OR`/`NOT`, parentheses, string (`'it''s'`), number, `TRUE`/`FALSE`
 * and `NULL` literals, bare or double-quoted column names. Keywords are
 * case-insensitive. A syntax error throws a {@link RowFilterSyntaxError}
 * with the 1-based column and a caret under the expression.
 */
export function parseRowFilter(expression: string, path = "filter.rows"): RowFilterNode {
  const fail = (at: number, expected: string): never => {
    throw new RowFilterSyntaxError({ path, expression, column: at + 1, expected });
  };
  const tokens = tokenize(expression, fail);
  let index = 0;
  const peek = (): Token => tokens[index] as Token;
  const isKeyword = (word: string, token: Token = peek()): boolean => token.type === "ident" && token.text.toUpperCase() === word;
  const take = (): Token => tokens[index++] as Token;
  const expectPunct = (text: string): void => {
    const token = peek();
    if (token.type !== "punct" || token.text !== text) fail(token.at, `'${text}'`);
    index++;
  };

  const operand = (): FilterOperand => {
    const token = take();
    switch (token.type) {
      case "string":
        return { kind: "string", value: token.text };
      case "number":
        return { kind: "number", text: token.text };
      case "quoted":
        return { kind: "column", name: token.text };
      case "ident": {
        const upper = token.text.toUpperCase();
        if (upper === "TRUE" || upper === "FALSE") return { kind: "bool", value: upper === "TRUE" };
        if (upper === "NULL") return { kind: "null" };
        if (KEYWORDS.has(upper)) return fail(token.at, "a column or a literal");
        return { kind: "column", name: token.text };
      }
      default:
        return fail(token.at, "a column or a literal");
    }
  };

  const predicate = (): RowFilterNode => {
    const token = peek();
    if (token.type === "punct" && token.text === "(") {
      index++;
      const inner = or();
      expectPunct(")");
      return inner;
    }
    const left = operand();
    const next = peek();
    if (next.type === "op") {
      index++;
      return { kind: "compare", op: next.text as ComparisonOperator, left, right: operand() };
    }
    if (isKeyword("IS")) {
      index++;
      const negated = isKeyword("NOT");
      if (negated) index++;
      if (!isKeyword("NULL")) fail(peek().at, "NULL");
      index++;
      return { kind: "is-null", negated, operand: left };
    }
    let negated = false;
    if (isKeyword("NOT") && (isKeyword("IN", tokens[index + 1]) || isKeyword("LIKE", tokens[index + 1]))) {
      negated = true;
      index++;
    }
    if (isKeyword("IN")) {
      index++;
      expectPunct("(");
      const values: FilterOperand[] = [operand()];
      while (peek().type === "punct" && peek().text === ",") {
        index++;
        values.push(operand());
      }
      expectPunct(")");
      return { kind: "in", negated, operand: left, values };
    }
    if (isKeyword("LIKE")) {
      index++;
      const pattern = take();
      if (pattern.type !== "string") fail(pattern.at, "a string pattern after LIKE");
      return { kind: "like", negated, operand: left, pattern: pattern.text };
    }
    if (left.kind !== "column" && left.kind !== "bool") fail(next.at, "a comparison, IN, IS or LIKE");
    return { kind: "truthy", operand: left };
  };

  const not = (): RowFilterNode => {
    if (isKeyword("NOT")) {
      index++;
      return { kind: "not", operand: not() };
    }
    return predicate();
  };

  const and = (): RowFilterNode => {
    let left = not();
    while (isKeyword("AND")) {
      index++;
      left = { kind: "and", left, right: not() };
    }
    return left;
  };

  function or(): RowFilterNode {
    let left = and();
    while (isKeyword("OR")) {
      index++;
      left = { kind: "or", left, right: and() };
    }
    return left;
  }

  if (peek().type === "end") fail(0, "an expression");
  const tree = or();
  const rest = peek();
  if (rest.type !== "end") fail(rest.at, "AND, OR or the end of the expression");
  return tree;
}
