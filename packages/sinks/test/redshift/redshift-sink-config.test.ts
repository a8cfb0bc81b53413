import { describe, expect, it } from "vitest";
import { resolveRedshiftSinkConfig } from "../../src/redshift/index.js";

const staging = { uri: "s3://zetl-stage/loads", iamRole: "arn:aws:iam::123456789012:role/copy" };

describe("redshift sink options", () => {
  it("accepts a wire URL or a Data API target, and names the field of a bad option without echoing secrets", () => {
    expect(resolveRedshiftSinkConfig({ url: "redshift://u:pw@h.example.com:5439/dev", staging }).displayTarget).toBe("h.example.com:5439/dev");
    expect(resolveRedshiftSinkConfig({ dataApi: { workgroupName: "wg", database: "dev" }, staging }).staging).toMatchObject({ bucket: "zetl-stage", prefix: "loads" });
    const bad = (options: unknown): string => {
      try {
        resolveRedshiftSinkConfig(options as never);
        return "accepted";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(bad({ staging })).toMatch(/^target: expected exactly one of url/);
    expect(bad({ url: "postgresx://u:hunter2@h/dev", staging })).toMatch(/^target.url: expected a redshift:\/\/ URL/);
    expect(bad({ url: "postgresx://u:hunter2@h/dev", staging })).not.toContain("hunter2");
    expect(bad({ dataApi: { clusterIdentifier: "c", workgroupName: "w", database: "dev" }, staging })).toMatch(/^target.dataApi: expected exactly one of clusterIdentifier and workgroupName/);
    expect(bad({ dataApi: { workgroupName: "w", database: "dev", dbUser: "u" }, staging })).toMatch(/^target.dataApi.dbUser:/);
    expect(bad({ dataApi: { clusterIdentifier: "c", database: "dev" }, staging: { ...staging, uri: "s3://b/it's" } })).toMatch(/^target.staging.uri:/);
    expect(bad({ dataApi: { clusterIdentifier: "c", database: "dev" }, staging: { ...staging, iamRole: "role' --" } })).toMatch(/^target.staging.iamRole:/);
    expect(bad({ url: "redshift://h/dev", staging, history: { tables: ["orders"] } })).toMatch(/^target.history.tables\[0\]: expected a "namespace.name" table key or "\*"/);
    expect(bad({ url: "redshift://h/dev", staging, history: ["public.orders"] })).toMatch(/^target.history: expected an object with a tables list/);
    expect(bad({ url: "redshift://h/dev", staging, writerLeaseSeconds: 0 })).toMatch(/^target.writerLeaseSeconds: expected a number of seconds from 1 to 3600/);
    const config = resolveRedshiftSinkConfig({ url: "redshift://h/dev", staging, history: { tables: ["public.orders"] } });
    expect(config.isHistory({ namespace: "public", name: "orders" })).toBe(true);
    expect(config.isHistory({ namespace: "public", name: "items" })).toBe(false);
    expect(config.writerLeaseMs).toBe(60_000);
  });
});
