import type pg from "pg";
import { builtinTypeDescriptor, type PgTypeDescriptor } from "./pg-value-decoder.js";

interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typbasetype: number;
  typtypmod: number;
  typelem: number;
  typdelim: string;
  typcategory: string;
  labels: string[] | null;
  /** Composite types: the attributes, in order. */
  attributes: { name: string; type: number; typmod: number }[] | null;
}

/**
 * Resolves PostgreSQL type OIDs to {@link PgTypeDescriptor}s: built-ins from
 * a table, enums, domains, composite types and arrays of them from pg_type
 * (parameterized queries, cached per OID).
 */
export class PgTypeCatalog {
  private readonly known = new Map<number, PgTypeDescriptor>();

  /** The descriptor of a resolved or built-in type; `undefined` until {@link resolve} loaded it. */
  get(oid: number): PgTypeDescriptor | undefined {
    return this.known.get(oid) ?? builtinTypeDescriptor(oid);
  }

  /** True when every OID is known without a query. */
  has(oids: Iterable<number>): boolean {
    for (const oid of oids) if (this.get(oid) === undefined) return false;
    return true;
  }

  /** Loads the types not yet known (and their base and element types) with `client`. */
  async resolve(client: pg.ClientBase, oids: Iterable<number>): Promise<void> {
    const rows = new Map<number, TypeRow>();
    let pending = [...new Set(oids)].filter((oid) => this.get(oid) === undefined);
    while (pending.length > 0) {
      const result = await client.query<TypeRow>({
        text: `SELECT t.oid::int8::float8 AS oid, t.typname::text AS typname, t.typtype::text AS typtype,
                      t.typbasetype::int8::float8 AS typbasetype, t.typtypmod, t.typelem::int8::float8 AS typelem,
                      t.typdelim::text AS typdelim, t.typcategory::text AS typcategory,
                      CASE WHEN t.typtype = 'e' THEN
                        (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
                      END AS labels,
                      CASE WHEN t.typtype = 'c' THEN
                        (SELECT json_agg(json_build_object('name', a.attname::text, 'type', a.atttypid::int8, 'typmod', a.atttypmod) ORDER BY a.attnum)
                           FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
                      END AS attributes
                 FROM pg_type t WHERE t.oid = ANY($1::oid[])`,
        values: [pending],
      });
      const next: number[] = [];
      for (const row of result.rows) {
        rows.set(row.oid, row);
        const deps = [row.typtype === "d" ? row.typbasetype : 0, row.typcategory === "A" ? row.typelem : 0, ...(row.attributes ?? []).map((a) => Number(a.type))];
        for (const dep of deps) {
          if (dep !== 0 && this.get(dep) === undefined && !rows.has(dep)) next.push(dep);
        }
      }
      for (const oid of pending) if (!rows.has(oid)) this.known.set(oid, { kind: "other", oid, name: `oid ${oid}` });
      pending = next;
    }
    const build = (oid: number): PgTypeDescriptor => {
      const existing = this.get(oid);
      if (existing !== undefined) return existing;
      const row = rows.get(oid);
      let descriptor: PgTypeDescriptor;
      if (row === undefined) descriptor = { kind: "other", oid, name: `oid ${oid}` };
      else if (row.typtype === "e") descriptor = { kind: "enum", oid, name: row.typname, labels: Object.freeze(row.labels ?? []) };
      else if (row.typtype === "d") descriptor = { kind: "domain", oid, name: row.typname, base: build(row.typbasetype), baseTypeMod: row.typtypmod };
      else if (row.typcategory === "A" && row.typelem !== 0) {
        descriptor = { kind: "array", oid, name: row.typname, element: build(row.typelem), delimiter: row.typdelim };
      } else if (row.typtype === "c" && row.attributes !== null) {
        const fields = row.attributes.map((a) => Object.freeze({ name: a.name, type: build(Number(a.type)), typeMod: a.typmod }));
        descriptor = { kind: "composite", oid, name: row.typname, fields: Object.freeze(fields) };
      } else descriptor = { kind: "other", oid, name: row.typname };
      this.known.set(oid, Object.freeze(descriptor));
      return descriptor;
    };
    for (const oid of rows.keys()) build(oid);
  }
}
