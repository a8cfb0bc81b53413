import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { qualifiedRedshift } from "./redshift-identifier.js";
import type { RedshiftStatementRunner } from "./redshift-statement-runner.js";

/** The lease table in the target schema. */
export const REDSHIFT_WRITER_LEASE_TABLE = "_zeroetl_writer_lease";

/** The text a flush fails with when its lease was taken over; found in the error to report `pipeline-locked`. */
export const LEASE_LOST_MARKER = "zeroetl writer lease lost";

/** Options of {@link RedshiftWriterLease}. */
export interface RedshiftWriterLeaseOptions {
  readonly schema: string;
  readonly pipeline: string;
  /** A lease not renewed for this long is stale and taken over. */
  readonly ttlMs: number;
  /** `host:port/database` or the cluster: for messages. */
  readonly displayTarget: string;
  readonly logger: Logger;
}

interface LeaseRow {
  readonly owner: string;
  readonly info: string;
  readonly renewals: string;
}

const HEX = /^[0-9a-f]*$/;
const DIGITS = /^\d+$/;

/**
 * One writer per pipeline and target schema, without locks tied to a
 * session (Redshift has no advisory locks): a lease row in
 * `_zeroetl_writer_lease`, keyed by a hash of schema and pipeline, holding
 * the owner (a random id per run) and a renewal counter.
 *
 * - **Take:** a free lease (no owner) is taken at once. A held one is
 *   watched: if its counter moves, its holder is alive and the run refuses
 *   (`pipeline-locked`, nothing changed); if it does not move for the lease
 *   time (measured on this host's clock only, so clocks need not agree), the
 *   holder is gone and the lease is taken over by a conditional `UPDATE ...
 *   WHERE owner = <seen> AND renewals = <seen>`, of which one of two racing
 *   runs wins.
 * - **Renew:** every quarter of the lease time, and as the first statements
 *   of every flush transaction, which fail the transaction when the lease is
 *   no longer this run's (a takeover after this run stalled for longer than
 *   the lease time). The flush's `UPDATE` of the lease row holds it until
 *   commit, so no takeover lands mid-flush.
 * - **Release:** on close, the owner is cleared, so the next run starts at once.
 *
 * Only generated text goes into the statements (hex ids, digits, and a
 * host name and pid reduced to `[A-Za-z0-9._: -]`); no configured or row value.
 */
export class RedshiftWriterLease {
  readonly #runner: RedshiftStatementRunner;
  readonly #o: RedshiftWriterLeaseOptions;
  readonly #table: string;
  readonly #key: string;
  readonly #owner = randomUUID().replaceAll("-", "");
  readonly #info: string;
  #timer: NodeJS.Timeout | undefined;
  #held = false;
  #lost = false;
  /** Set while a flush runs: the timer's renewals wait, the flush renews the lease itself. */
  #flushing = false;
  /** The renewal running now, if any. */
  #renewing: Promise<void> | undefined;

  constructor(runner: RedshiftStatementRunner, options: RedshiftWriterLeaseOptions) {
    this.#runner = runner;
    this.#o = options;
    this.#table = qualifiedRedshift(options.schema, REDSHIFT_WRITER_LEASE_TABLE);
    this.#key = createHash("sha256").update(`zeroetl\u0000${options.schema}\u0000${options.pipeline}`).digest("hex").slice(0, 32);
    this.#info = `${hostname()}:${process.pid} since ${new Date().toISOString()}`.replace(/[^A-Za-z0-9._: -]/g, "_").slice(0, 200);
  }

  /** Whether this run holds the lease (as far as it knows). */
  get held(): boolean {
    return this.#held;
  }

  /** Takes the lease (see the class comment); throws `pipeline-locked` when a live run holds it. */
  async take(signal?: AbortSignal): Promise<void> {
    if (this.#held) return;
    await this.#runner.execute(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (lease_key VARCHAR(64) NOT NULL, owner VARCHAR(64) NOT NULL, owner_info VARCHAR(256) NOT NULL, renewals BIGINT NOT NULL, PRIMARY KEY (lease_key))`,
    );
    try {
      await this.#runner.execute(`INSERT INTO ${this.#table} SELECT '${this.#key}', '', '', 0 WHERE NOT EXISTS (SELECT 1 FROM ${this.#table} WHERE lease_key = '${this.#key}')`);
    } catch {
      // a run creating the row at the same moment: the row is there either way (read below)
    }
    let seen: (LeaseRow & { readonly at: number }) | undefined;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new ZeroEtlError(`pipeline ${this.#o.pipeline}: stopped while waiting for the writer lease`, { code: "pipeline-locked" });
      const rows = await this.#read();
      const other = rows.find((r) => r.owner !== this.#owner);
      if (rows.length > 0 && other === undefined) break;
      const row = other ?? { owner: "", info: "", renewals: "0" };
      if (row.owner === "") {
        await this.#takeOver(row);
        if (attempt > 20) throw new ZeroEtlError(`pipeline ${this.#o.pipeline}: the writer lease in target ${this.#o.displayTarget} could not be taken`, { code: "pipeline-locked", retryable: true });
        continue;
      }
      const now = Date.now();
      if (seen === undefined || seen.owner !== row.owner) {
        seen = { ...row, at: now };
        this.#o.logger.info("writer lease held by another run: waiting to see whether it is renewed", { holder: row.info, waitMs: this.#o.ttlMs });
      } else if (seen.renewals !== row.renewals) {
        throw new ZeroEtlError(
          `pipeline ${this.#o.pipeline} is already running: its writer lease in target ${this.#o.displayTarget} is held by ${row.info} and renewed. Stop that run first; nothing was changed`,
          { code: "pipeline-locked" },
        );
      } else if (now - seen.at >= this.#o.ttlMs) {
        this.#o.logger.warn("writer lease not renewed within the lease time: taking it over", { holder: row.info, ttlMs: this.#o.ttlMs });
        await this.#takeOver(row);
        seen = undefined;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(50, Math.min(1000, this.#o.ttlMs / 8))));
    }
    this.#held = true;
    this.#timer = setInterval(() => this.#renew(), Math.max(50, this.#o.ttlMs / 4));
    this.#timer.unref();
  }

  /**
   * The statements that start every flush transaction: renew the lease and
   * fail the transaction (with {@link LEASE_LOST_MARKER}) unless this run holds it.
   */
  fence(): string[] {
    if (this.#lost) {
      throw new ZeroEtlError(`pipeline ${this.#o.pipeline}: its writer lease in target ${this.#o.displayTarget} was taken over by another run; this run writes nothing more`, { code: "pipeline-locked" });
    }
    if (!this.#held) return [];
    return [
      `UPDATE ${this.#table} SET renewals = renewals + 1 WHERE lease_key = '${this.#key}' AND owner = '${this.#owner}'`,
      `SELECT CAST(CASE WHEN COUNT(*) = 1 THEN '1' ELSE '${LEASE_LOST_MARKER}' END AS INTEGER) AS held FROM ${this.#table} WHERE lease_key = '${this.#key}' AND owner = '${this.#owner}'`,
    ];
  }

  /**
   * Runs `work` (a flush) without a timer renewal beside it: the flush renews
   * the lease itself. A renewal already running is waited for first: on a
   * runner with one connection (the wire protocol) its BEGIN … COMMIT would
   * otherwise interleave with the flush's and commit it halfway.
   */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.#flushing = true;
    try {
      await this.#renewing;
      return await work();
    } finally {
      this.#flushing = false;
    }
  }

  /** Stops renewing and frees the lease if this run still holds it. */
  async release(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.#runner.execute(`UPDATE ${this.#table} SET owner = '', owner_info = '', renewals = renewals + 1 WHERE lease_key = '${this.#key}' AND owner = '${this.#owner}'`);
    } catch (error) {
      // harmless: the next run takes the lease over after the lease time
      this.#o.logger.warn("writer lease not released", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  #renew(): void {
    if (this.#flushing || this.#renewing !== undefined || !this.#held) return;
    this.#renewing = this.#renewOnce().finally(() => {
      this.#renewing = undefined;
    });
  }

  async #renewOnce(): Promise<void> {
    try {
      await this.#runner.transaction(this.fence());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes(LEASE_LOST_MARKER)) {
        this.#o.logger.error("writer lease taken over by another run: this run writes nothing more", { pipeline: this.#o.pipeline });
        this.#held = false;
        this.#lost = true;
        if (this.#timer !== undefined) clearInterval(this.#timer);
      } else {
        this.#o.logger.warn("writer lease not renewed", { error: message });
      }
    }
  }

  async #read(): Promise<LeaseRow[]> {
    const rows = await this.#runner.query(`SELECT owner, owner_info, renewals FROM ${this.#table} WHERE lease_key = :lease_key`, { lease_key: this.#key });
    return rows.map((r) => ({ owner: r["owner"] ?? "", info: r["owner_info"] ?? "", renewals: r["renewals"] ?? "0" }));
  }

  /** The conditional takeover of a lease seen free or stale: only if it is still as seen. */
  async #takeOver(row: LeaseRow): Promise<void> {
    if (!HEX.test(row.owner) || !DIGITS.test(row.renewals)) {
      throw new ZeroEtlError(`the writer lease row in ${this.#table} holds an owner this sink did not write; remove that row`, { code: "pipeline-locked" });
    }
    try {
      await this.#runner.execute(
        `UPDATE ${this.#table} SET owner = '${this.#owner}', owner_info = '${this.#info}', renewals = renewals + 1 WHERE lease_key = '${this.#key}' AND owner = '${row.owner}' AND renewals = ${row.renewals}`,
      );
    } catch (error) {
      // a concurrent takeover (Redshift: a serialization error): the re-read shows who won
      this.#o.logger.debug("writer lease takeover did not apply", { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
