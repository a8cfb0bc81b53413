/**
 * The end-to-end demo behind `pnpm demo`: a sample shop database on the local
 * throwaway PostgreSQL is replicated into a warehouse database, live.
 *
 * 1. loads the shop (customers, products with jsonb, orders, order items);
 * 2. `zeroetl check --fix` creates the publication;
 * 3. `zeroetl run` snapshots and keeps streaming in the background;
 * 4. live changes (insert, update, delete, a new column) are made at the
 *    source and timed until they are visible in the warehouse;
 * 5. `zeroetl status` shows each table's state; the runner stops on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadShop } from "./shop-database.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const serverUrl = process.env.ZETL_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
const orders = Number(process.env.ZETL_DEMO_ORDERS ?? 50_000);
const workDir = join(root, ".zero-etl", "demo");

function databaseUrl(name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The compiled CLI the root `prepare` script builds (`scripts/build-cli.mjs`). */
const compiledCli = join(root, "packages/cli/bundle/zeroetl.js");

/** Starts the compiled `zeroetl <args>` as `pnpm zeroetl` does (`scripts/zeroetl.mjs` rebuilds the bundle when a source changed since). */
function cli(args: string[], options: { quiet?: boolean } = {}): ChildProcess {
  if (!existsSync(compiledCli)) {
    throw new Error(`the compiled zeroetl CLI is missing (${compiledCli}): \`pnpm install\` builds it (the root prepare script), or run \`node scripts/build-cli.mjs\``);
  }
  return spawn(process.execPath, [join(root, "scripts/zeroetl.mjs"), ...args], {
    cwd: root,
    stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
  });
}

function finished(child: ChildProcess): Promise<number> {
  return new Promise((done) => child.on("exit", (code) => done(code ?? 1)));
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  // a query may fail until the change arrives (e.g. a column not added yet)
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return (Date.now() - started) / 1000;
}

async function main(): Promise<void> {
  console.log(`zero-etl demo: PostgreSQL shop -> PostgreSQL warehouse on ${new URL(serverUrl).host}`);
  await withClient(serverUrl, async (admin) => {
    await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'zeroetl_shop_demo'`);
    await admin.query(`DROP DATABASE IF EXISTS zeroetl_demo_shop WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS zeroetl_demo_warehouse WITH (FORCE)`);
    await admin.query(`CREATE DATABASE zeroetl_demo_shop`);
    await admin.query(`CREATE DATABASE zeroetl_demo_warehouse`);
  });
  const shopUrl = databaseUrl("zeroetl_demo_shop");
  const warehouseUrl = databaseUrl("zeroetl_demo_warehouse");
  await withClient(shopUrl, (db) => loadShop(db, orders));
  console.log(`loaded ${orders.toLocaleString("en")} orders with ${(orders * 2).toLocaleString("en")} order items`);

  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const config = join(workDir, "pipeline.json");
  await writeFile(
    config,
    JSON.stringify(
      {
        name: "shop_demo",
        source: { type: "postgres", url: shopUrl },
        target: { type: "postgres", url: warehouseUrl, schema: "shop" },
        state: { dir: join(workDir, "state") },
        log: { level: "warn" },
      },
      null,
      2,
    ),
  );
  console.log(`\n$ zeroetl check ${config} --fix`);
  if ((await finished(cli(["check", config, "--fix"]))) !== 0) throw new Error("preflight failed");

  console.log(`$ zeroetl run ${config}   (in the background)`);
  const runner = cli(["run", config]);
  const runnerExit = finished(runner);
  process.once("exit", () => runner.kill("SIGTERM"));
  const snapshotSeconds = await waitFor(
    "the snapshot",
    () => withClient(warehouseUrl, async (w) => {
      const r = await w.query(`SELECT count(*)::int AS n FROM shop.order_items`).catch(() => ({ rows: [{ n: 0 }] }));
      return r.rows[0]?.n === orders * 2;
    }),
    300_000,
  );
  console.log(`snapshot of ${(orders * 3 + 200 + Math.floor(orders / 4)).toLocaleString("en")} rows visible in the warehouse after ${snapshotSeconds.toFixed(1)} s`);

  const latencies: [string, number][] = [];
  await withClient(shopUrl, async (shop) => {
    await withClient(warehouseUrl, async (warehouse) => {
      const visible = async (sql: string, values: unknown[]) => (await warehouse.query(sql, values)).rowCount === 1;
      await shop.query(`INSERT INTO orders VALUES ($1, 1, 'new', 12.34, now(), 'live insert')`, [orders + 1]);
      latencies.push(["insert", await waitFor("insert", () => visible(`SELECT 1 FROM shop.orders WHERE id = $1`, [orders + 1]))]);
      await shop.query(`UPDATE orders SET status = 'shipped', note = 'live update' WHERE id = 1`);
      latencies.push(["update", await waitFor("update", () => visible(`SELECT 1 FROM shop.orders WHERE id = 1 AND note = 'live update'`, []))]);
      await shop.query(`DELETE FROM order_items WHERE order_id = 2; DELETE FROM orders WHERE id = 2`);
      latencies.push(["delete", await waitFor("delete", async () => !(await visible(`SELECT 1 FROM shop.orders WHERE id = 2`, [])))]);
      await shop.query(`ALTER TABLE orders ADD COLUMN coupon text; UPDATE orders SET coupon = 'WINTER26' WHERE id = 3`);
      latencies.push(["add column", await waitFor("new column", () => visible(`SELECT 1 FROM shop.orders WHERE id = 3 AND coupon = 'WINTER26'`, []))]);
    });
  });
  console.log("\nlive change -> visible in the warehouse (includes 25 ms polling):");
  for (const [what, seconds] of latencies) console.log(`  ${what.padEnd(11)} ${seconds.toFixed(2)} s`);

  runner.kill("SIGTERM");
  if ((await runnerExit) !== 0) throw new Error("the runner did not stop cleanly");
  console.log(`\n$ zeroetl status ${config}`);
  await finished(cli(["status", config]));

  const counts = await withClient(shopUrl, (shop) =>
    withClient(warehouseUrl, async (warehouse) => {
      const out: string[] = [];
      for (const table of ["customers", "products", "orders", "order_items"]) {
        const s = (await shop.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;
        const w = (await warehouse.query(`SELECT count(*)::int AS n FROM shop.${table}`)).rows[0]?.n;
        out.push(`  ${table.padEnd(12)} source ${String(s).padStart(7)}  warehouse ${String(w).padStart(7)}  ${s === w ? "equal" : "DIFFERENT"}`);
      }
      return out;
    }),
  );
  console.log(`\nrow counts:\n${counts.join("\n")}`);
  console.log(`\nthe warehouse is ${warehouseUrl}; run the pipeline again with: pnpm zeroetl run ${config}`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
