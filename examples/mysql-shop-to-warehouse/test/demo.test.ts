import { runExample } from "@zero-etl/example-harness";
import { describe, expect, it } from "vitest";

// The README's command runs this program; keep it working.
describe("the mysql-shop-to-warehouse example", () => {
  it("replicates the MariaDB shop with a row filter and an excluded table, and prints the Redshift DDL", () => {
    const result = runExample("examples/mysql-shop-to-warehouse/src/demo.ts", { ZETL_DEMO_ORDERS: "1000" });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain(`CREATE TABLE IF NOT EXISTS "shop"."products" ("sku" VARCHAR(128) NOT NULL, "title" VARCHAR(800), "price" DECIMAL(10,2), "attributes" SUPER, PRIMARY KEY ("sku"));`);
    expect(result.stdout).toMatch(/^CREATE TABLE IF NOT EXISTS "shop"\."orders" \("id" BIGINT NOT NULL, .*"total" DECIMAL\(12,2\).*PRIMARY KEY \("id"\)\);$/m);
    expect(result.stdout).not.toMatch(/audit_log" \(/);
    expect(result.stdout).toMatch(/^snapshot visible after [\d.]+ s: 900 orders \(the 100 test orders filtered out\)$/m);
    for (const change of ["insert", "update", "delete", "add column"]) expect(result.stdout).toMatch(new RegExp(`^  ${change}\\s+\\d+\\.\\d+ s$`, "m"));
    expect(result.stdout).toMatch(/^test order 1002 in the warehouse: no \(row filter\)$/m);
    expect(result.stdout).toMatch(/^audit_log in the warehouse: no \(excluded\)$/m);
    expect(result.stdout).toContain(`ALTER TABLE "shop"."products" ADD COLUMN "weight_kg" DECIMAL(6,3);`);
    for (const what of ["customers", "products", "orders", "revenue"]) expect(result.stdout).toMatch(new RegExp(`^  ${what}\\s+source\\s+[\\d.]+\\s+warehouse\\s+[\\d.]+\\s+equal$`, "m"));
    expect(result.stdout).toMatch(/^zeroetl run stopped with exit code 0$/m);
  }, 120_000);
});
