import { networkInterfaces, hostname } from "node:os";

/** The most COPY streams the default ever asks for: beyond that the source's and the target's I/O, not CPU, is the limit. */
export const MAX_DEFAULT_COPY_PARALLELISM = 8;

/** What the default number of parallel COPY streams of an initial load is chosen from. */
export interface CopyParallelismInputs {
  /** Cores this process sees (`os.availableParallelism()`). */
  readonly cores: number;
  /**
   * How many of the load's servers (the source's and the target's) run on
   * this host, sharing its cores with this process (see {@link isOnThisHost}).
   */
  readonly serversOnThisHost: number;
}

/**
 * The default number of parallel COPY streams of a table's initial load.
 *
 * Each stream keeps one backend busy on the source (reading the table) and
 * one on the target (writing it, the heavier of the two); this process only
 * passes the bytes on. When those servers run on this host, a stream takes
 * about one core per server here, so `cores / serversOnThisHost` streams
 * fill the machine and more only make them take turns (measured on 2 cores
 * with both servers here, 1,000,000 rows: 1.83 / 2.25 / 2.75 s at 1 / 2 / 4
 * streams). Servers elsewhere bring their own cores, which we cannot see:
 * then this host's cores bound it, at most {@link MAX_DEFAULT_COPY_PARALLELISM}.
 * Small tables get one stream anyway (the source does not split a table
 * below 8 MiB).
 */
export function defaultCopyParallelism(inputs: CopyParallelismInputs): number {
  const cores = Math.max(1, Math.floor(inputs.cores));
  const shared = Math.max(1, Math.floor(inputs.serversOnThisHost));
  return Math.max(1, Math.min(MAX_DEFAULT_COPY_PARALLELISM, Math.floor(cores / shared)));
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"]);

/**
 * Whether the server a `scheme://host:port/...` URL names runs on this host:
 * a loopback name or address, a Unix socket (`host` query parameter or an
 * empty host), this machine's host name, or one of its interface addresses.
 * False for a URL that does not parse (it is validated elsewhere).
 */
export function isOnThisHost(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // libpq's `?host=/run/postgresql` (a socket directory) overrides the authority
  const socket = parsed.searchParams.get("host");
  if (socket !== null && socket.startsWith("/")) return true;
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "") return true;
  if (LOOPBACK_NAMES.has(host) || host === "::1" || /^127\./.test(host)) return true;
  if (host === hostname().toLowerCase()) return true;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.address.toLowerCase() === host) return true;
  }
  return false;
}
