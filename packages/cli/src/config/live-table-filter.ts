import type { TableRef } from "@zero-etl/core";
import type { FilterTableRef, TableFilter } from "@zero-etl/mappers";

/**
 * The table filter a running pipeline selects with, replaceable while it
 * runs (a config reload): the source's `include` predicate and the filter
 * mapper ask it at every call, so a new filter takes effect wherever they
 * are asked next. The runtime replaces it only while no stream runs
 * (`SelectionChange.apply`), so a stream never sees two selections. Without
 * a filter every table is selected.
 */
export class LiveTableFilter implements TableFilter {
  #current: TableFilter | undefined;

  constructor(initial: TableFilter | undefined) {
    this.#current = initial;
  }

  /** The filter in force; undefined: every table. */
  get current(): TableFilter | undefined {
    return this.#current;
  }

  /** Puts `filter` in force. */
  set(filter: TableFilter | undefined): void {
    this.#current = filter;
  }

  get include(): readonly string[] {
    return this.#current?.include ?? [];
  }

  get exclude(): readonly string[] {
    return this.#current?.exclude ?? [];
  }

  get includeNamespaces(): readonly (string | undefined)[] {
    return this.#current?.includeNamespaces ?? [];
  }

  matchesTable(ref: FilterTableRef | TableRef): boolean {
    const current = this.#current;
    return current === undefined || current.matchesTable(ref);
  }
}
