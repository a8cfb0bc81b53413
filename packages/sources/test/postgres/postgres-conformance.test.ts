import { describeSourceConformance } from "@zero-etl/core/testing";
import { createPostgresSource } from "@zero-etl/sources/postgres";
import { createTestDatabase } from "../../../../test-support/postgres.js";

describeSourceConformance({
  name: "postgres",
  async setup() {
    const db = await createTestDatabase("pgsrc_conf");
    await db.query("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)");
    const table = { namespace: "public", name: "people" };
    const create = () => createPostgresSource({ url: db.url, pipeline: `${db.name}_conf`, tables: [table] });
    return {
      table,
      createSource: async () => create(),
      insert: async (rows) => {
        for (const row of rows) await db.query("INSERT INTO people (id, name) VALUES ($1, $2)", [row.id, row.name]);
      },
      update: async (id, name) => {
        await db.query("UPDATE people SET name = $2 WHERE id = $1", [id, name]);
      },
      remove: async (id) => {
        await db.query("DELETE FROM people WHERE id = $1", [id]);
      },
      cleanup: () => db.drop(),
    };
  },
});
