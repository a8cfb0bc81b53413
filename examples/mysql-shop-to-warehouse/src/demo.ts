/**
 * `pnpm --filter @zero-etl/example-mysql-shop-to-warehouse demo`: an
 * operational MariaDB shop replicated live into a PostgreSQL warehouse,
 * with a row filter (test orders stay out) and an excluded table (the audit
 * log), plus the Redshift DDL the Redshift sink would run for the same
 * tables and for a live schema change.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TableSchema } from "@zero-etl/core";
import { freshPostgresDatabase, heading, mysqlServerUrl, repositoryRoot, waitFor, withPostgres, zeroetl } from "@zero-etl/example-harness";
import { createMysqlSource } from "@zero-etl/sources/mysql";
import mysql from "mysql2/promise";
import { redshiftAlter, redshiftCreateTable } from "./redshift-ddl.js";

const database = "zeroetl_shop_demo";
const orders = Number(process.env.ZETL_DEMO_ORDERS ?? 5_000);
const workDir = join(repositoryRoot, ".zero-etl", "mysql-shop");
const rowFilter = "is_test = 0";

function shopUrl(): string {
  const url = new URL(mysqlServerUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function introspect(): Promise<Map<string, TableSchema>> {
  const source = createMysqlSource({ url: shopUrl(), pipeline: "shop_ddl_preview", tables: (t) => t.namespace === database && t.name !== "audit_log" });
  try {
    return new Map((await source.introspect()).map((s) => [s.table.name, s]));
  } finally {
    await source.close();
  }
}

async function main(): Promise<void> {
  const shop = await mysql.createConnection({ uri: mysqlServerUrl, multipleStatements: true });
  const warehouseUrl = await freshPostgresDatabase("zeroetl_shop_warehouse");
  try {
    await shop.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database};
      CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(120) NOT NULL, country CHAR(2) NOT NULL, created_at DATETIME(6) NOT NULL);
      CREATE TABLE products (sku VARCHAR(32) PRIMARY KEY, title VARCHAR(200) NOT NULL, price DECIMAL(10,2) NOT NULL, attributes JSON);
      CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, sku VARCHAR(32) NOT NULL, quantity SMALLINT NOT NULL,
        total DECIMAL(12,2) NOT NULL, status ENUM('new','paid','shipped') NOT NULL, is_test TINYINT(1) NOT NULL DEFAULT 0, ordered_at DATETIME(6) NOT NULL);
      CREATE TABLE audit_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, actor VARCHAR(64) NOT NULL, action TEXT NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));`);
    const customers = Math.max(10, Math.floor(orders / 5));
    await shop.query(
      `INSERT INTO customers WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${customers})
       SELECT n, CONCAT('customer', n, '@example.com'), ELT(1 + n % 3, 'PT', 'FR', 'DE'), TIMESTAMP('2026-01-01 00:00:00.000001') + INTERVAL n MINUTE FROM g`,
    );
    await shop.query(
      `INSERT INTO products WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50)
       SELECT CONCAT('SKU-', n), CONCAT('Product ', n), 5 + n * 1.25, JSON_OBJECT('color', ELT(1 + n % 3, 'red', 'green', 'blue'), 'tags', JSON_ARRAY('t', n)) FROM g`,
    );
    await shop.query(
      `SET SESSION cte_max_recursion_depth = 1000000;
       INSERT INTO orders WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${orders})
       SELECT n, 1 + n % ${customers}, CONCAT('SKU-', 1 + n % 50), 1 + n % 4, (1 + n % 4) * (5 + (1 + n % 50) * 1.25), ELT(1 + n % 3, 'new', 'paid', 'shipped'),
              n % 10 = 0, TIMESTAMP('2026-03-01 08:00:00.000001') + INTERVAL n SECOND FROM g`,
    ).catch(async () => {
      // MariaDB has no cte_max_recursion_depth: its limit is max_recursive_iterations
      await shop.query(
        `SET SESSION max_recursive_iterations = 1000000;
         INSERT INTO orders WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${orders})
         SELECT n, 1 + n % ${customers}, CONCAT('SKU-', 1 + n % 50), 1 + n % 4, (1 + n % 4) * (5 + (1 + n % 50) * 1.25), ELT(1 + n % 3, 'new', 'paid', 'shipped'),
                n % 10 = 0, TIMESTAMP('2026-03-01 08:00:00.000001') + INTERVAL n SECOND FROM g`,
      );
    });
    await shop.query(`INSERT INTO audit_log (actor, action) VALUES ('admin', 'loaded the demo shop')`);
    console.log(`MariaDB ${new URL(mysqlServerUrl).host}/${database}: ${customers.toLocaleString("en")} customers, 50 products, ${orders.toLocaleString("en")} orders (every 10th a test order), an audit log`);

    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const config = join(workDir, "pipeline.json");
    const filter = { include: [`${database}.*`], exclude: [`${database}.audit_log`], rows: { [`${database}.orders`]: rowFilter } };
    await writeFile(
      config,
      JSON.stringify(
        {
          name: "mysql_shop_demo",
          source: { type: "mysql", url: shopUrl() },
          target: { type: "postgres", url: warehouseUrl, schema: "shop" },
          filter,
          state: { dir: join(workDir, "state") },
          log: { level: "warn" },
        },
        null,
        2,
      ),
    );
    console.log(`filter: ${JSON.stringify(filter)}`);

    heading("the Redshift DDL the Redshift sink would run for these tables (planRedshiftColumns + compileCreateTable)");
    const before = await introspect();
    for (const schema of before.values()) console.log(`${redshiftCreateTable(schema, "shop")};`);

    heading(`zeroetl run ${config}   (in the background)`);
    const runner = zeroetl(["run", config], { quiet: true });
    process.once("exit", () => runner.kill("SIGTERM"));
    const alive = () => {
      if (runner.exitCode !== null) throw new Error(`zeroetl run ended (${runner.exitCode}): ${runner.output()}`);
    };
    const warehouse = async (sql: string): Promise<number> => withPostgres(warehouseUrl, async (w) => Number((await w.query<{ n: string }>(sql)).rows[0]?.n ?? -1));
    const real = orders - Math.floor(orders / 10);
    const snapshot = await waitFor("the snapshot", async () => (alive(), (await warehouse(`SELECT count(*) AS n FROM shop.orders`)) === real), 120_000, 100);
    console.log(`snapshot visible after ${snapshot.toFixed(1)} s: ${real.toLocaleString("en")} orders (the ${Math.floor(orders / 10)} test orders filtered out)`);

    heading("live changes in MariaDB");
    const timings: [string, number][] = [];
    await shop.query(`INSERT INTO orders VALUES (${orders + 1}, 1, 'SKU-1', 2, 12.50, 'new', 0, NOW(6))`);
    timings.push(["insert", await waitFor("insert", async () => (await warehouse(`SELECT count(*) AS n FROM shop.orders WHERE id = ${orders + 1}`)) === 1)]);
    await shop.query(`UPDATE customers SET email = 'new-address@example.com' WHERE id = 2`);
    timings.push(["update", await waitFor("update", async () => (await warehouse(`SELECT count(*) AS n FROM shop.customers WHERE id = 2 AND email = 'new-address@example.com'`)) === 1)]);
    await shop.query(`DELETE FROM orders WHERE id = 1`);
    timings.push(["delete", await waitFor("delete", async () => (await warehouse(`SELECT count(*) AS n FROM shop.orders WHERE id = 1`)) === 0)]);
    // a test order and an audit row: neither reaches the warehouse (checked after a later change that does)
    await shop.query(`INSERT INTO orders VALUES (${orders + 2}, 1, 'SKU-2', 1, 6.25, 'new', 1, NOW(6)); INSERT INTO audit_log (actor, action) VALUES ('support', 'refund 1')`);
    await shop.query(`ALTER TABLE products ADD COLUMN weight_kg DECIMAL(6,3) NULL; UPDATE products SET weight_kg = 1.250 WHERE sku = 'SKU-7'`);
    timings.push(["add column", await waitFor("new column", async () => (await warehouse(`SELECT count(*) AS n FROM shop.products WHERE sku = 'SKU-7' AND weight_kg = 1.250`)) === 1)]);
    console.log("change -> visible in the warehouse (25 ms polling):");
    for (const [what, seconds] of timings) console.log(`  ${what.padEnd(11)} ${seconds.toFixed(2)} s`);
    console.log(`test order ${orders + 2} in the warehouse: ${(await warehouse(`SELECT count(*) AS n FROM shop.orders WHERE id = ${orders + 2}`)) === 0 ? "no (row filter)" : "YES"}`);
    console.log(`audit_log in the warehouse: ${(await warehouse(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'audit_log'`)) === 0 ? "no (excluded)" : "YES"}`);

    heading("the same schema change on Redshift (renderRedshiftDdl)");
    const after = await introspect();
    const beforeProducts = before.get("products");
    const afterProducts = after.get("products");
    if (beforeProducts === undefined || afterProducts === undefined) throw new Error("products not introspected");
    for (const statement of redshiftAlter(beforeProducts, afterProducts, "shop")) console.log(`${statement};`);

    runner.kill("SIGTERM");
    const code = await runner.exited;
    console.log(`\nzeroetl run stopped with exit code ${code}`);

    heading("source (MariaDB, filtered) vs warehouse (PostgreSQL)");
    const comparisons: [string, string, string][] = [
      ["customers", `SELECT count(*) AS n FROM customers`, `SELECT count(*) AS n FROM shop.customers`],
      ["products", `SELECT count(*) AS n FROM products`, `SELECT count(*) AS n FROM shop.products`],
      ["orders", `SELECT count(*) AS n FROM orders WHERE ${rowFilter}`, `SELECT count(*) AS n FROM shop.orders`],
      ["revenue", `SELECT SUM(total) AS n FROM orders WHERE ${rowFilter}`, `SELECT SUM(total) AS n FROM shop.orders`],
    ];
    let equal = true;
    for (const [what, at, wh] of comparisons) {
      const [rows] = (await shop.query(at)) as unknown as [{ n: string | number }[]];
      const s = String(rows[0]?.n);
      const w = String(await withPostgres(warehouseUrl, async (c) => (await c.query<{ n: string }>(wh)).rows[0]?.n));
      const same = Number(s) === Number(w);
      equal &&= same;
      console.log(`  ${what.padEnd(10)} source ${s.padStart(12)}  warehouse ${w.padStart(12)}  ${same ? "equal" : "DIFFERENT"}`);
    }
    if (code !== 0 || !equal) process.exitCode = 1;
  } finally {
    await shop.end();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
