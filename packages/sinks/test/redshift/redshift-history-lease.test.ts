import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { ChangeEvent, PipelineCheckpoint, TableSchema } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { createRedshiftSink } from "../../src/redshift/index.js";
import type { RedshiftSink } from "../../src/redshift/index.js";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { startS3rver, type LocalS3 } from "../../../../test-support/s3rver.js";
import { createPgTranslatingRunner } from "../../../../test-support/redshift/pg-translating-runner.js";
import { checkRedshiftSyntax } from "../../../../test-support/redshift/redshift-syntax-check.js";

// History mode and the writer lease of the Redshift sink, on the local
// PostgreSQL through the translating runner; every statement issued is
// parsed by sqlglot's redshift dialect at the end.
const IAM_ROLE = "arn:aws:iam::123456789012:role/zeroetl-copy";
const table = { namespace: "app", name: "h" };
const schema: TableSchema = {
  table,
  version: 1,
  primaryKey: ["id"],
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "v", type: { kind: "string" }, nullable: true },
    { name: "big", type: { kind: "string" }, nullable: true },
  ],
};

let db: TestDatabase;
let s3: LocalS3<S3Client>;
const log: string[] = [];
const sinks: RedshiftSink[] = [];

function newSink(options: { history?: boolean; schema?: string; leaseSeconds?: number } = {}): RedshiftSink {
  const sink = createRedshiftSink({
    url: "redshift://unused@127.0.0.1:5439/dev",
    schema: options.schema ?? "hist",
    staging: { uri: "s3://hist-bucket/zetl", iamRole: IAM_ROLE, endpoint: s3.endpoint, forcePathStyle: true },
    ...(options.history === false ? {} : { history: { tables: ["app.h"] } }),
    ...(options.leaseSeconds === undefined ? {} : { writerLeaseSeconds: options.leaseSeconds }),
    statementRunner: () => createPgTranslatingRunner({ url: db.url, s3: { endpoint: s3.endpoint }, log, maxTransactionStatements: 40 }),
  });
  sinks.push(sink);
  return sink;
}

function checkpoint(position: string, pipeline = "rh"): PipelineCheckpoint {
  return { pipeline, phase: "streaming", position, tables: { "app.h": { state: "synced", rows: 0, updatedAt: "2026-01-01T00:00:00.000Z" } }, savedAt: "2026-01-01T00:00:00.000Z" } as PipelineCheckpoint;
}

interface VersionRow {
  id: string;
  v: string | null;
  big: string | null;
  vfrom: string;
  vto: string | null;
  cur: boolean;
  op: string;
}

async function versions(schemaName = "hist"): Promise<string[]> {
  const rows = (
    await db.query(
      `SELECT id::text AS id, v, big, _zeroetl_valid_from AS vfrom, _zeroetl_valid_to AS vto, _zeroetl_is_current AS cur, _zeroetl_op AS op FROM ${schemaName}.h`,
    )
  ).rows as VersionRow[];
  return rows.map((r) => `${r.id} ${r.v} ${r.big} ${r.vfrom}->${r.vto ?? "now"}${r.cur ? " current" : ""} ${r.op}`).sort();
}

const B1 = "B1".repeat(100);
const B2 = "B2".repeat(100);

beforeAll(async () => {
  process.env["AWS_ACCESS_KEY_ID"] = "S3RVER";
  process.env["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
  db = await createTestDatabase("rs_hist");
  s3 = await startS3rver((config) => new S3Client(config));
  await s3.client.send(new CreateBucketCommand({ Bucket: "hist-bucket" }));
});

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  s3.client.destroy();
  await s3.stop();
  await db.drop();
});

describe("redshift sink history mode", () => {
  it("keeps every version, copies left-out columns from the version closed, and replays (a prefix again, a truncate again) without doubling", async () => {
    const sink = newSink();
    await sink.lock?.({ pipeline: "rh" });
    await sink.open({ pipeline: "rh" });
    await sink.prepare(schema);
    expect(sink.describeTable(table)?.columns.map((c) => c.name)).toEqual(["id", "v", "big", "_zeroetl_valid_from", "_zeroetl_valid_to", "_zeroetl_valid_from_time", "_zeroetl_valid_to_time", "_zeroetl_is_current", "_zeroetl_op"]);
    await sink.writeSnapshot({ table, schema, chunk: 0, last: true, rowsRead: 2, rows: [{ id: 1n, v: "a", big: B1 }, { id: 2n, v: "b", big: B2 }] });
    await sink.flush(checkpoint("s1"));
    expect(await versions()).toEqual([`1 a ${B1} s1->now current snapshot`, `2 b ${B2} s1->now current snapshot`]);

    const at = (s: number) => Date.UTC(2026, 0, 1, 0, 0, s);
    const run: ChangeEvent[] = [
      { op: "update", table, position: "p10", commitTime: at(10), key: { id: 1n }, after: { id: 1n, v: "a1" }, unchanged: ["big"] },
      { op: "update", table, position: "p11", commitTime: at(11), key: { id: 1n }, after: { id: 1n, v: "a2" }, unchanged: ["big"] },
      { op: "update", table, position: "p12", commitTime: at(12), key: { id: 2n }, after: { id: 3n, v: "b1", big: B2 } },
      { op: "insert", table, position: "p13", commitTime: at(13), after: { id: 4n, v: "d", big: null } },
      { op: "delete", table, position: "p14", commitTime: at(14), key: { id: 4n } },
    ];
    await sink.write({ events: run });
    await sink.flush(checkpoint("p14"));
    const deleted = "4 d null p13->p14 insert";
    const afterRun = [
      `1 a ${B1} s1->p10 snapshot`,
      `1 a1 ${B1} p10->p11 update`,
      `1 a2 ${B1} p11->now current update`,
      `2 b ${B2} s1->p12 snapshot`,
      `3 b1 ${B2} p12->now current update`,
      deleted,
    ];
    expect(await versions()).toEqual(afterRun);
    const closedAt = await db.query("SELECT _zeroetl_valid_to_time AS t FROM hist.h WHERE id = 2");
    expect(closedAt.rows[0]).toEqual({ t: new Date(at(12)) });

    // a replay of part of the run (as a source re-sends a split transaction), then new changes,
    // one of which leaves out a column whose value is in a version of the replayed part
    await sink.write({ events: [...run.slice(1), { op: "update", table, position: "p15", commitTime: at(15), key: { id: 3n }, after: { id: 3n, v: "b2" }, unchanged: ["big"] }] });
    await sink.flush(checkpoint("p15"));
    expect(await versions()).toEqual([...afterRun.slice(0, 4), `3 b1 ${B2} p12->p15 update`, `3 b2 ${B2} p15->now current update`, deleted].sort());

    // a partial update whose closed version is in the target only, replayed
    const partial: ChangeEvent = { op: "update", table, position: "p16", commitTime: at(16), key: { id: 3n }, after: { id: 3n, v: "b3" }, unchanged: ["big"] };
    await sink.write({ events: [partial] });
    await sink.flush(checkpoint("p16"));
    await sink.write({ events: [partial] });
    await sink.flush(checkpoint("p16"));
    const beforeTruncate = [...afterRun.slice(0, 4), `3 b1 ${B2} p12->p15 update`, `3 b2 ${B2} p15->p16 update`, `3 b3 ${B2} p16->now current update`, deleted].sort();
    expect(await versions()).toEqual(beforeTruncate);

    // a truncate closes every current version; applied twice (a replay), the versions opened after it stay current
    const truncated: ChangeEvent[] = [
      { op: "truncate", table, position: "p20", commitTime: at(20) },
      { op: "insert", table, position: "p21", commitTime: at(21), after: { id: 5n, v: "e", big: null } },
    ];
    await sink.write({ events: truncated });
    await sink.flush(checkpoint("p21"));
    await sink.write({ events: truncated });
    await sink.flush(checkpoint("p21"));
    const afterTruncate = beforeTruncate.map((v) => v.replace("p11->now current", "p11->p20").replace("p16->now current", "p16->p20"));
    expect(await versions()).toEqual([...afterTruncate, "5 e null p21->now current insert"].sort());

    // a re-snapshot closes the current versions at the new snapshot position and opens new ones; a row read twice is one version
    await sink.resetTable(table);
    await sink.writeSnapshot({ table, schema, chunk: 0, last: false, rowsRead: 2, rows: [{ id: 5n, v: "e", big: null }, { id: 6n, v: "f", big: null }] });
    await sink.writeSnapshot({ table, schema, chunk: 1, last: true, rowsRead: 3, rows: [{ id: 6n, v: "f", big: null }] });
    await sink.flush(checkpoint("s2"));
    expect(await versions()).toEqual([...afterTruncate, "5 e null p21->s2 insert", "5 e null s2->now current snapshot", "6 f null s2->now current snapshot"].sort());
  });

  it("refuses to switch a latest-state table to history mode in place", async () => {
    const plain = newSink({ history: false, schema: "plain" });
    await plain.open({ pipeline: "rp" });
    await plain.prepare(schema);
    const history = newSink({ schema: "plain" });
    await history.open({ pipeline: "rp" });
    await expect(history.prepare(schema)).rejects.toMatchObject({ code: "schema-refused", message: expect.stringMatching(/app\.h: the target table h holds the latest state/) });
  });
});

describe("redshift sink writer lease", () => {
  it("lets one run of a pipeline write: a second refuses while the first renews, takes a silent lease over after the lease time, and the stalled run's flush then writes nothing", async () => {
    const a = newSink({ schema: "leased", history: false, leaseSeconds: 2 });
    await a.lock?.({ pipeline: "lp" });
    await a.open({ pipeline: "lp" });
    await a.prepare(schema);
    await a.write({ events: [{ op: "insert", table, position: "1", after: { id: 1n, v: "a", big: null } }] });
    await a.flush(checkpoint("1", "lp"));

    // a live holder renews (every half second here): the second run refuses, naming it. The
    // watcher waits its own lease time for a renewal, so it gets a long one: under load the
    // holder's next renewal may land seconds late, and a 2 s watch would take a live lease over
    const b = newSink({ schema: "leased", history: false, leaseSeconds: 120 });
    const refused = await b.lock?.({ pipeline: "lp" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ZeroEtlError);
    expect(refused).toMatchObject({ code: "pipeline-locked", message: expect.stringMatching(/pipeline lp is already running: its writer lease in target .* is held by .*:\d+ since .* and renewed\. Stop that run first; nothing was changed/) });

    // another pipeline on the same schema has its own lease
    const other = newSink({ schema: "leased", history: false, leaseSeconds: 2 });
    await other.lock?.({ pipeline: "lp2" });

    // a holder that stalls (it renews only every 15 minutes) is taken over after the lease time
    const stalled = newSink({ schema: "leased", history: false, leaseSeconds: 3600 });
    await a.close();
    await stalled.lock?.({ pipeline: "lp" });
    await stalled.open({ pipeline: "lp" });
    await stalled.prepare(schema);
    const c = newSink({ schema: "leased", history: false, leaseSeconds: 1 });
    await c.lock?.({ pipeline: "lp" });
    await stalled.write({ events: [{ op: "insert", table, position: "2", after: { id: 2n, v: "stale", big: null } }] });
    await expect(stalled.flush(checkpoint("2", "lp"))).rejects.toMatchObject({ code: "pipeline-locked", message: expect.stringMatching(/taken over by another run; nothing of this flush was written/) });
    expect((await db.query("SELECT id::text AS id FROM leased.h ORDER BY id")).rows).toEqual([{ id: "1" }]);
    // the new holder writes
    await c.open({ pipeline: "lp" });
    await c.prepare(schema);
    await c.write({ events: [{ op: "insert", table, position: "3", after: { id: 3n, v: "c", big: null } }] });
    await c.flush(checkpoint("3", "lp"));
    expect((await db.query("SELECT id::text AS id FROM leased.h ORDER BY id")).rows).toEqual([{ id: "1" }, { id: "3" }]);
    // a closed run frees the lease: the next takes it at once
    await c.close();
    const d = newSink({ schema: "leased", history: false, leaseSeconds: 3600 });
    await d.lock?.({ pipeline: "lp" });
    await d.close();
  });

  it("never runs a flush's transaction beside a renewal still running on the one connection", async () => {
    // The wire runner has one connection: a renewal whose BEGIN … COMMIT interleaved with a
    // flush's would commit the flush halfway. A renewal held open here (a gate) must be over
    // before the flush's transaction starts. No timing is asserted: only the order.
    const order: string[] = [];
    let renewalStarted = false;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const e = createRedshiftSink({
      url: "redshift://unused@127.0.0.1:5439/dev",
      schema: "gated",
      staging: { uri: "s3://hist-bucket/zetl", iamRole: IAM_ROLE, endpoint: s3.endpoint, forcePathStyle: true },
      writerLeaseSeconds: 1,
      statementRunner: () => {
        const inner = createPgTranslatingRunner({ url: db.url, s3: { endpoint: s3.endpoint }, log, maxTransactionStatements: 40 });
        return {
          ...inner,
          transaction: async (statements: readonly string[]) => {
            // a renewal is the fence alone: its lease UPDATE and the check
            const renewal = statements.length === 2 && (statements[0] ?? "").includes("_zeroetl_writer_lease");
            if (renewal && !renewalStarted) {
              renewalStarted = true;
              order.push("renewal begins");
              await gate;
              await inner.transaction(statements);
              order.push("renewal ends");
              return;
            }
            if (!renewal) order.push("flush begins");
            await inner.transaction(statements);
            if (!renewal) order.push("flush ends");
          },
        };
      },
    });
    sinks.push(e);
    await e.lock?.({ pipeline: "gp" });
    await e.open({ pipeline: "gp" });
    await e.prepare(schema);
    await e.write({ events: [{ op: "insert", table, position: "1", after: { id: 1n, v: "g", big: null } }] });
    for (let waited = 0; !renewalStarted && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(renewalStarted).toBe(true);
    const flushed = e.flush(checkpoint("1", "gp"));
    // keep the renewal open until the flush's transaction began (before the fix) or for a while
    for (let waited = 0; !order.includes("flush begins") && waited < 2_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    openGate();
    await flushed;
    expect(order.slice(0, 4)).toEqual(["renewal begins", "renewal ends", "flush begins", "flush ends"]);
    expect((await db.query("SELECT id::text AS id, v FROM gated.h")).rows).toEqual([{ id: "1", v: "g" }]);
    await e.close();
  });

  it("issues only statements that parse as Redshift", async () => {
    expect(log.some((s) => s.includes("_zeroetl_writer_lease"))).toBe(true);
    expect(log.some((s) => s.includes('"_zeroetl_is_current" = FALSE'))).toBe(true);
    expect(await checkRedshiftSyntax([...new Set(log)])).toEqual([]);
  });
});
