import { describe, expect, it } from "vitest";
import { logLag } from "../src/commands/log-lag-formatter.js";

describe("logLag (zeroetl status)", () => {
  it("measures PostgreSQL WAL between two LSNs, across the 4 GiB boundary", () => {
    expect(logLag("0/16B3748", "0/16B3748")).toBe("caught up");
    expect(logLag("0/16B3748", "0/16B3800")).toBe("184 bytes of WAL");
    expect(logLag("0/FFFFFFF0", "1/10")).toBe("32 bytes of WAL");
    // a checkpoint ahead of a position read a moment earlier is not negative lag
    expect(logLag("1/10", "0/FFFFFFF0")).toBe("caught up");
  });

  it("measures MySQL binlog within a file and counts files across them", () => {
    expect(logLag("binlog.000003:120", "binlog.000003:4120@3E11FA47-71CA-11E1-9E33-C80AA9429562:1-9")).toBe("4000 bytes of binlog");
    expect(logLag("binlog.000003:120", "binlog.000005:4")).toBe("2 binlog files");
    expect(logLag("binlog.000003:120", "binlog.000003:120")).toBe("caught up");
  });

  it("has no measure for positions without one", () => {
    expect(logLag("49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136589999")).toBe("-");
    expect(logLag(undefined, "0/10")).toBe("-");
    expect(logLag("mysql-bin.000001:4", "binlog.000001:4")).toBe("-");
  });
});
