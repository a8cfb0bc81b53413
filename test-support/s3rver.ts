import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// s3rver ships no type declarations
// @ts-expect-error untyped CommonJS module
import S3rver from "s3rver";

/** The S3 client settings for a local s3rver: path-style, fixed dummy credentials. */
export interface LocalS3ClientConfig {
  readonly endpoint: string;
  readonly region: "us-east-1";
  readonly forcePathStyle: true;
  readonly credentials: { readonly accessKeyId: "S3RVER"; readonly secretAccessKey: "S3RVER" };
}

/** A running s3rver with a temporary directory. */
export interface LocalS3<C> {
  readonly endpoint: string;
  readonly config: LocalS3ClientConfig;
  /** The client made by `createClient`, if given. */
  readonly client: C;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1 with a free port and a fresh temporary
 * directory. The S3 SDK is not a root dependency, so the caller passes
 * `createClient` (e.g. `(c) => new S3Client(c)`) to get a ready client.
 */
export async function startS3rver<C = undefined>(createClient?: (config: LocalS3ClientConfig) => C): Promise<LocalS3<C>> {
  const directory = mkdtempSync(join(tmpdir(), "zetl-s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  const address = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${address.port}`;
  const config: LocalS3ClientConfig = {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
  const client = (createClient === undefined ? undefined : createClient(config)) as C;
  return {
    endpoint,
    config,
    client,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Starts s3rver in a child process of plain Node (`s3rver-main.mjs`), for
 * code run through tsx (the fuzzer), where s3rver cannot start in-process.
 * The child also stops when this process exits (its stdin closes).
 */
export async function startS3rverProcess<C = undefined>(createClient?: (config: LocalS3ClientConfig) => C): Promise<LocalS3<C>> {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "s3rver-main.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const config: LocalS3ClientConfig = { endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } };
  const client = (createClient === undefined ? undefined : createClient(config)) as C;
  return {
    endpoint,
    config,
    client,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
