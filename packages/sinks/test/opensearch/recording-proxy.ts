import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as it reached the proxy: method, path with query, headers as sent (names and order kept), raw body. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** `[name, value]` pairs as on the wire. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** A proxy in front of the test node that records each request before forwarding it unchanged. */
export interface RecordingProxy {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /**
   * Rewrites the answer of a request before it goes back (e.g. one bulk
   * item's status); returning undefined passes the node's answer through.
   */
  rewrite: ((request: RecordedRequest, status: number, body: Buffer) => { status: number; body: Buffer } | undefined) | undefined;
  close(): Promise<void>;
}

/** Starts a {@link RecordingProxy} on a free port, forwarding to `upstream`. */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const proxy: RecordingProxy = {
    url: "",
    requests: [],
    rewrite: undefined,
    close: () => new Promise((done) => server.close(() => done())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
      const recorded: RecordedRequest = { method: req.method ?? "GET", path: req.url ?? "/", headers, body: Buffer.concat(chunks) };
      proxy.requests.push(recorded);
      const forwarded: IncomingHttpHeaders = { ...req.headers, host: target.host };
      const upstreamRequest = request({ host: target.hostname, port: target.port, method: recorded.method, path: recorded.path, headers: forwarded }, (answer) => {
        const body: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => body.push(chunk));
        answer.on("end", () => {
          const original = Buffer.concat(body);
          const changed = proxy.rewrite?.(recorded, answer.statusCode ?? 502, original);
          const out = changed ?? { status: answer.statusCode ?? 502, body: original };
          const outHeaders = { ...answer.headers, "content-length": String(out.body.length) };
          delete outHeaders["transfer-encoding"];
          res.writeHead(out.status, outHeaders).end(out.body);
        });
      });
      upstreamRequest.on("error", (error) => res.writeHead(502).end(error.message));
      upstreamRequest.end(recorded.body);
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
