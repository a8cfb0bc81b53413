import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultCopyParallelism, isOnThisHost, MAX_DEFAULT_COPY_PARALLELISM } from "@zero-etl/core";

describe("the default number of COPY streams of an initial load", () => {
  it("gives each server on this host its share of the cores", () => {
    // 2 cores, source and target here: one stream (measured fastest there)
    expect(defaultCopyParallelism({ cores: 2, serversOnThisHost: 2 })).toBe(1);
    expect(defaultCopyParallelism({ cores: 2, serversOnThisHost: 1 })).toBe(2);
    expect(defaultCopyParallelism({ cores: 8, serversOnThisHost: 2 })).toBe(4);
    expect(defaultCopyParallelism({ cores: 3, serversOnThisHost: 2 })).toBe(1);
  });

  it("takes this host's cores when the servers are elsewhere, within the cap", () => {
    expect(defaultCopyParallelism({ cores: 4, serversOnThisHost: 0 })).toBe(4);
    expect(defaultCopyParallelism({ cores: 64, serversOnThisHost: 0 })).toBe(MAX_DEFAULT_COPY_PARALLELISM);
    expect(defaultCopyParallelism({ cores: 1, serversOnThisHost: 2 })).toBe(1);
  });
});

describe("whether a server URL names this host", () => {
  it("knows loopback names and addresses, sockets and this host's name", () => {
    expect(isOnThisHost("postgres://u@127.0.0.1:55432/db")).toBe(true);
    expect(isOnThisHost("postgres://u@localhost/db")).toBe(true);
    expect(isOnThisHost("postgres://u@[::1]:5432/db")).toBe(true);
    expect(isOnThisHost("postgres:///db?host=/run/postgresql")).toBe(true);
    expect(isOnThisHost(`mysql://root@${hostname()}:3306/`)).toBe(true);
  });

  it("says no for other hosts and for what does not parse", () => {
    expect(isOnThisHost("postgres://u@db.example.com:5432/db")).toBe(false);
    expect(isOnThisHost("postgres://u@192.0.2.10/db")).toBe(false);
    expect(isOnThisHost("not a url")).toBe(false);
  });
});
