import type pg from "pg";
import type { PreflightCheck } from "@zero-etl/core";

/** Options of {@link inspectOtherSlots}. */
export interface OtherSlotsOptions {
  /** This pipeline's own slot: never listed, never dropped. */
  readonly ownSlot: string;
  /** Slots the user named with `zeroetl check --drop-slot NAME`; only these may be dropped. */
  readonly drop: readonly string[];
}

interface SlotRow {
  slot_name: string;
  retained_bytes: string | null;
  wal_status: string | null;
}

const MB = 1024 * 1024;

/**
 * Lists this database's inactive `zeroetl_*` logical slots other than the
 * pipeline's own, with the WAL each one holds back: typically the slot of a
 * renamed or abandoned pipeline, retaining WAL until the disk fills or
 * `max_slot_wal_keep_size` invalidates it. A slot is dropped only when the
 * user names it (`drop`), because whether another config still uses a slot
 * cannot be known from here (its pipeline may merely be stopped); even then
 * an active slot, another database's, one not named `zeroetl_*` or the
 * pipeline's own is never dropped. Names a requested slot that is not
 * droppable in a failed check.
 */
export async function inspectOtherSlots(client: pg.ClientBase, options: OtherSlotsOptions): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const rows = (
    await client.query<SlotRow>(
      `SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained_bytes, wal_status
         FROM pg_replication_slots
        WHERE slot_type = 'logical' AND database = current_database() AND NOT active
          AND slot_name LIKE 'zeroetl\\_%' AND slot_name <> $1
        ORDER BY slot_name`,
      [options.ownSlot],
    )
  ).rows;
  const droppable = new Set(rows.map((r) => r.slot_name));
  for (const name of options.drop) {
    if (droppable.has(name)) continue;
    checks.push({
      id: "postgres.other_slots",
      ok: false,
      severity: "error",
      message:
        name === options.ownSlot
          ? `replication slot ${name} is this pipeline's own slot and is never dropped by check`
          : `replication slot ${name} is not an inactive zeroetl_* slot of this database; not dropped`,
    });
  }
  for (const row of rows) {
    const retainedMb = Math.round(Number(row.retained_bytes ?? 0) / MB);
    const held = `retains ${retainedMb} MB of WAL (wal_status = ${row.wal_status ?? "unknown"})`;
    if (options.drop.includes(row.slot_name)) {
      await client.query("SELECT pg_drop_replication_slot($1)", [row.slot_name]);
      checks.push({ id: "postgres.other_slots", ok: true, fixed: true, message: `dropped inactive replication slot ${row.slot_name}, which ${held}` });
      continue;
    }
    checks.push({
      id: "postgres.other_slots",
      topic: "log-retention",
      ok: false,
      severity: "warning",
      message: `inactive replication slot ${row.slot_name} is not this pipeline's and ${held}`,
      remedy: `if no pipeline uses it any more (a renamed or removed one), drop it: zeroetl check <config> --drop-slot ${row.slot_name}`,
    });
  }
  return checks;
}
