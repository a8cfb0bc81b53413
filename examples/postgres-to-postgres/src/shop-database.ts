import type pg from "pg";

/** Creates the sample shop schema and loads `orders` orders with their customers, products and items. */
export async function loadShop(db: pg.ClientBase, orders: number): Promise<void> {
  await db.query(`
    CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
    CREATE TABLE customers (
      id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE products (
      id integer PRIMARY KEY, sku uuid NOT NULL, title text NOT NULL,
      price numeric(12,2) NOT NULL, attributes jsonb NOT NULL DEFAULT '{}');
    CREATE TABLE orders (
      id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
      status order_status NOT NULL, total numeric(14,2) NOT NULL,
      ordered_at timestamptz(6) NOT NULL, note text);
    CREATE TABLE order_items (
      order_id bigint NOT NULL REFERENCES orders, line smallint NOT NULL,
      product_id integer NOT NULL REFERENCES products, quantity integer NOT NULL,
      PRIMARY KEY (order_id, line));`);
  const customers = Math.max(1, Math.floor(orders / 4));
  await db.query(
    `INSERT INTO customers (id, email, name, created_at)
     SELECT g, 'customer' || g || '@example.com', 'Customer ' || g, timestamptz '2026-01-01 00:00:00.123456+00' + g * interval '1 minute'
     FROM generate_series(1, $1::int) g`,
    [customers],
  );
  await db.query(
    `INSERT INTO products (id, sku, title, price, attributes)
     SELECT g, md5(g::text)::uuid, 'Product ' || g, (g % 500) + 0.99,
            jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + g % 3], 'dimensions', jsonb_build_object('w', g % 40, 'h', g % 25), 'tags', jsonb_build_array('t' || g % 7, 't' || g % 11))
     FROM generate_series(1, 200) g`,
  );
  await db.query(
    `INSERT INTO orders (id, customer_id, status, total, ordered_at)
     SELECT g, 1 + g % $2::int, (ARRAY['new','paid','shipped']::order_status[])[1 + g % 3], round((g % 997) * 1.37, 2),
            timestamptz '2026-03-01 08:00:00.000001+00' + g * interval '17 seconds'
     FROM generate_series(1, $1::int) g`,
    [orders, customers],
  );
  await db.query(
    `INSERT INTO order_items (order_id, line, product_id, quantity)
     SELECT o, l, 1 + (o * l) % 200, 1 + (o + l) % 5 FROM generate_series(1, $1::int) o, generate_series(1, 2) l`,
    [orders],
  );
}
