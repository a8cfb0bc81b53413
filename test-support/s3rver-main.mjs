// Runs s3rver in a plain Node process (no tsx): under tsx's require hook,
// koa's `is-generator-function` resolves `generator-function` through its
// `module-sync` export to an ES module namespace, not the function, and
// s3rver fails to start (`getGeneratorFunction is not a function`).
// Prints `{"port":N}` once listening; stops on SIGTERM or when stdin closes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

const directory = mkdtempSync(join(tmpdir(), "zetl-s3rver-"));
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  rmSync(directory, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
