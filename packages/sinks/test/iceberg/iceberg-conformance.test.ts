import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeSinkConformance } from "@zero-etl/core/testing";
import { createIcebergSink, createLocalObjectStore, readIcebergTable } from "@zero-etl/sinks/iceberg";

describeSinkConformance({
  name: "iceberg",
  async setup() {
    const warehouse = await mkdtemp(join(tmpdir(), "zetl-iceberg-conf-"));
    return {
      createSink: async () => createIcebergSink({ warehouse, namespace: "conf" }),
      readRows: async (table) => (await readIcebergTable({ store: createLocalObjectStore(), location: join(warehouse, "conf", table.name) })).rows,
      cleanup: () => rm(warehouse, { recursive: true, force: true }),
    };
  },
});
