import { describeSourceConformance } from "@zero-etl/core/testing";
import { createMysqlSource } from "@zero-etl/sources/mysql";
import { createTestMysqlDatabase } from "../../../../test-support/mysql.js";

describeSourceConformance({
  name: "mysql",
  async setup() {
    const db = await createTestMysqlDatabase("mysrc_conf");
    await db.query("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL)");
    const table = { namespace: db.name, name: "people" };
    return {
      table,
      createSource: async () => createMysqlSource({ url: db.url, pipeline: `${db.name}_conf`, tables: [table] }),
      insert: async (rows) => {
        for (const row of rows) await db.query("INSERT INTO people (id, name) VALUES (?, ?)", [row.id, row.name]);
      },
      update: async (id, name) => {
        await db.query("UPDATE people SET name = ? WHERE id = ?", [name, id]);
      },
      remove: async (id) => {
        await db.query("DELETE FROM people WHERE id = ?", [id]);
      },
      cleanup: () => db.drop(),
    };
  },
});
