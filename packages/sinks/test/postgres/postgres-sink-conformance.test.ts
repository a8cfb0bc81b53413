import pg from "pg";
import { describeSinkConformance } from "@zero-etl/core/testing";
import type { Row } from "@zero-etl/core";
import { createPostgresSink } from "@zero-etl/sinks/postgres";
import { createTestDatabase } from "../../../../test-support/postgres.js";

describeSinkConformance({
  name: "postgres",
  setup: async () => {
    const db = await createTestDatabase("pgsink_conf");
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    return {
      createSink: async () => createPostgresSink({ url: db.url }),
      readRows: async (table) => (await reader.query(`SELECT * FROM public.${JSON.stringify(table.name)}`)).rows as Row[],
      cleanup: async () => {
        await reader.end();
        await db.drop();
      },
    };
  },
});
