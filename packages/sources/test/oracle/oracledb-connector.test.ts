import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ZeroEtlError } from "@zero-etl/core";
import { createOracleDbConnector } from "../../src/oracle/oracledb-database.js";

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("the oracledb thin-mode connector", () => {
  it("loads the driver without Instant Client and reports an unreachable database as a retryable connection error without the password", async () => {
    const port = await closedPort();
    const connect = createOracleDbConnector({ url: `oracle://app:s3cr%40t@127.0.0.1:${port}/ORCLPDB1`, connectTimeoutMs: 5_000, queryTimeoutMs: 0 });
    const error = await connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ZeroEtlError);
    expect(error).toMatchObject({ code: "connection-failed", retryable: true });
    expect((error as Error).message).toBe(`cannot connect to oracle at 127.0.0.1:${port}/ORCLPDB1`);
    expect((error as Error).message).not.toContain("s3cr");
    // the cause is the driver's own (thin mode: a network error, not a missing client library)
    expect(String((error as Error).cause)).not.toMatch(/DPI-1047|Instant Client/);
  });
});
