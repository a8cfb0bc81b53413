import { readFile, stat } from "node:fs/promises";

/**
 * Runs `fn` with `globalThis.fetch` also serving absolute local paths
 * (`/dir/file`, `file:///dir/file`), with HEAD and byte ranges, so that
 * icebird can read a filesystem warehouse. Restores fetch afterwards.
 */
export async function withLocalFetch<T>(fn: () => Promise<T>): Promise<T> {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
    if (!path.startsWith("/")) return realFetch(input, init);
    if (init?.method === "HEAD") {
      const s = await stat(path).catch(() => undefined);
      return s === undefined ? new Response("not found", { status: 404 }) : new Response(null, { status: 200, headers: { "content-length": String(s.size) } });
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return new Response("not found", { status: 404 });
    }
    const m = /bytes=(\d+)-(\d*)/.exec(new Headers(init?.headers).get("range") ?? "");
    if (m !== null) {
      const start = Number(m[1]);
      const end = m[2] === "" ? bytes.length - 1 : Number(m[2]);
      return new Response(bytes.subarray(start, end + 1), { status: 206, headers: { "content-length": String(end + 1 - start) } });
    }
    return new Response(bytes, { status: 200, headers: { "content-length": String(bytes.length) } });
  }) as typeof globalThis.fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = realFetch;
  }
}
