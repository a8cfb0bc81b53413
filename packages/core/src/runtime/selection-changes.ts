/**
 * A change of the tables the source selects (a config reload), made by the
 * caller and applied by the running pipeline at a point of its choosing.
 */
export interface SelectionChange {
  /**
   * Makes the source (and the mappers) select the new tables. The pipeline
   * calls it while no stream runs, after everything applied so far is
   * durable. Resolves false when the change was refused (it must then have
   * left the selection as it was); true when the new selection is in force.
   */
  apply(): Promise<boolean>;
}

/**
 * The channel through which a caller asks a running pipeline
 * (`PipelineOptions.selectionChanges`) to take a new table selection:
 * {@link request} wakes the stream, which stops at the next checkpoint,
 * applies the change and reconciles its tables as a restart would (tables
 * newly selected are read, incrementally with `snapshotMode: "incremental"`;
 * tables no longer selected are forgotten, their target copies left as they
 * are), then streams on. Only the latest request not yet taken counts.
 */
export class SelectionChanges {
  #pending: SelectionChange | undefined;
  readonly #listeners = new Set<() => void>();

  /** Asks for `change`; replaces a request not taken yet. */
  request(change: SelectionChange): void {
    this.#pending = change;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Whether a request waits to be taken. */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** The waiting request, handed over once. */
  take(): SelectionChange | undefined {
    const change = this.#pending;
    this.#pending = undefined;
    return change;
  }

  /** Calls `listener` at every {@link request} until the returned function is called. */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
