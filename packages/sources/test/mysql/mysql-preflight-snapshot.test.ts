import { ConfigError, isPreflightPassing } from "@zero-etl/core";
import { checkMysqlSettings, createMysqlSource, deriveServerId, mysqlPositionCodec, type MysqlServerSettings } from "@zero-etl/sources/mysql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../../test-support/mysql.js";
import { collectBatches, eventsOf } from "./collect-changes.js";

const good: MysqlServerSettings = {
  version: "10.11.19-MariaDB",
  variables: { log_bin: "ON", binlog_format: "ROW", binlog_row_image: "FULL", binlog_row_metadata: "FULL", server_id: "1", binlog_expire_logs_seconds: "0", expire_logs_days: "0" },
  grants: ["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`"],
};

describe("mysql preflight", () => {
  it("passes a correctly configured server", () => {
    const checks = checkMysqlSettings(good);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("names each wrong setting, what is fixable with SET GLOBAL and what needs a restart", () => {
    const checks = checkMysqlSettings({
      ...good,
      variables: { ...good.variables, log_bin: "OFF", binlog_format: "MIXED", binlog_row_metadata: "MINIMAL", server_id: "0", binlog_expire_logs_seconds: "3600" },
      grants: ["GRANT USAGE ON *.* TO `u`@`%`", "GRANT SELECT ON `shop`.* TO `u`@`%`"],
    });
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.id, c]));
    expect(Object.keys(failed).sort()).toEqual(
      ["mysql.binlog_format", "mysql.binlog_retention", "mysql.binlog_row_metadata", "mysql.log_bin", "mysql.privilege.replication_client", "mysql.privilege.replication_slave", "mysql.server_id"].sort(),
    );
    expect(failed["mysql.binlog_format"]).toMatchObject({ fixable: true, severity: "error" });
    expect(failed["mysql.binlog_row_metadata"]?.message).toContain("MINIMAL");
    expect(failed["mysql.log_bin"]).toMatchObject({ fixable: false });
    expect(failed["mysql.log_bin"]?.remedy).toContain("restart");
    expect(failed["mysql.binlog_retention"]).toMatchObject({ severity: "warning" });
  });
});

describe("mysql source against the live server", () => {
  let db: TestMysqlDatabase;
  beforeAll(async () => {
    db = await createTestMysqlDatabase("mysnap");
  });
  afterAll(async () => {
    await db.drop();
  });

  it("validates options with ConfigError paths", () => {
    expect(() => createMysqlSource({ url: "postgres://x", pipeline: "p" })).toThrow(ConfigError);
    expect(() => createMysqlSource({ url: "mysql://127.0.0.1/", pipeline: "p" })).toThrow(expect.objectContaining({ path: "source.url" }));
    expect(() => createMysqlSource({ url: "mysql://127.0.0.1/db", pipeline: "" })).toThrow(expect.objectContaining({ path: "source.pipeline" }));
    expect(() => createMysqlSource({ url: "mysql://127.0.0.1/db", pipeline: "p", serverId: 0 })).toThrow(expect.objectContaining({ path: "source.serverId" }));
    expect(() => createMysqlSource({ url: "mysql://u:secret@127.0.0.1/db", pipeline: "p", snapshotChunkRows: -1 })).toThrow(expect.objectContaining({ path: "source.snapshotChunkRows" }));
    const id = deriveServerId("orders-pipeline");
    expect(id).toBe(deriveServerId("orders-pipeline"));
    expect(id).toBeGreaterThanOrEqual(0x40000000);
    expect(id).toBeLessThanOrEqual(0x7fffffff);
  });

  it("reads the live settings (read-only) and passes on the test server", async () => {
    const source = createMysqlSource({ url: db.url, pipeline: "preflight" });
    try {
      const report = await source.preflight({ fix: false });
      expect(report.component).toBe("mysql");
      expect(report.checks.find((c) => c.id === "mysql.binlog_format")).toMatchObject({ ok: true });
      expect(report.checks.find((c) => c.id === "mysql.binlog_row_metadata")).toMatchObject({ ok: true });
      expect(isPreflightPassing(report)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it("snapshots in key-ordered chunks with progress, consistent with the stream position", async () => {
    await db.query("CREATE TABLE snap (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b)); CREATE TABLE nokey (v INT)");
    await db.query("INSERT INTO snap SELECT seq % 7, CONCAT('k', seq), seq FROM seq_1_to_2500");
    await db.query("INSERT INTO nokey SELECT seq FROM seq_1_to_25");
    await db.query("ANALYZE TABLE snap, nokey");
    const source = createMysqlSource({ url: db.url, pipeline: `snap-${db.name}`, serverId: 5_000_000 + Math.floor(Math.random() * 1_000_000), snapshotChunkRows: 1000 });
    try {
      const session = await source.snapshot({});
      // Written after the snapshot started: invisible to it, delivered by the stream from its position.
      await db.query("INSERT INTO snap VALUES (99, 'late', 1)");
      await db.query("UPDATE snap SET v = -1 WHERE a = 0 AND b = 'k7'");
      const chunks = [];
      for await (const chunk of session.chunks) chunks.push(chunk);
      const snap = chunks.filter((c) => c.table.name === "snap");
      expect(snap.map((c) => [c.chunk, c.rows.length, c.last, c.rowsRead])).toEqual([
        [0, 1000, false, 1000],
        [1, 1000, false, 2000],
        [2, 500, true, 2500],
      ]);
      expect(snap[0]?.rowsEstimated).toBeGreaterThan(0);
      const keys = snap.flatMap((c) => c.rows.map((r) => `${r.a}:${r.b}`));
      expect(new Set(keys).size).toBe(2500);
      expect(keys).not.toContain("99:late");
      const all = snap.flatMap((c) => c.rows);
      expect(all.find((r) => r.a === 0 && r.b === "k7")?.v).toBe(7);
      const sorted = [...all].sort((x, y) => (x.a as number) - (y.a as number) || String(x.b).localeCompare(String(y.b), "en", { sensitivity: "base" }));
      expect(all.map((r) => r.a)).toEqual(sorted.map((r) => r.a));
      expect(chunks.filter((c) => c.table.name === "nokey").flatMap((c) => c.rows)).toHaveLength(25);
      expect(session.schemas.map((s) => s.table.name).sort()).toEqual(["nokey", "snap"]);
      expect(mysqlPositionCodec.parse(session.position).gtid).toMatch(/^\d+-\d+-\d+/);

      const batches = await collectBatches(source, session.position, (events) => events.some((e) => e.op === "update"));
      const changes = eventsOf(batches).filter((e) => e.table.name === "snap");
      expect(changes.map((e) => e.op)).toEqual(["insert", "update"]);
      expect(changes[0]).toMatchObject({ op: "insert", after: { a: 99, b: "late", v: 1 } });
    } finally {
      await source.close();
    }
  });
});
