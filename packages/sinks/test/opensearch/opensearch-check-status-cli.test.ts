import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { countDocuments, deleteIndices, openSearchRequest, openSearchUrl, uniqueIndexPrefix } from "../../../../test-support/opensearch.js";

// `zeroetl check --fix` and `zeroetl status` with an OpenSearch target, through the real CLI against the live node;
// what they did is read back with plain HTTP.
describe("zeroetl check --fix and status with an OpenSearch target", () => {
  let source: TestDatabase;
  let config: string;
  const prefix = uniqueIndexPrefix("cs");
  const stateIndex = `${prefix}_state`;
  const template = `zeroetl-${prefix}_zeroetl-`;

  beforeAll(async () => {
    source = await createTestDatabase("os_cs");
    await source.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
      CREATE TABLE notes (id int PRIMARY KEY, body text);
      INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 25) AS i;
      INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 7) AS i;`);
    ({ file: config } = await writeConfig({
      name: `os_cs_${process.pid}`,
      source: { type: "postgres", url: source.url },
      // two shards: not the default, so an index that has them got them from the template
      target: { type: "opensearch", node: openSearchUrl(), index: `${prefix}.{namespace}.{table}`, stateIndex, shards: 2, replicas: 0 },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await deleteIndices(prefix);
  });

  it("check reports the missing state index and index template; --fix creates them; an index made afterwards takes the template's settings", async () => {
    const before = await runCli(["check", config]);
    expect(before.stdout).toMatch(/warn\s+opensearch\.state_index\s+state index \S+_state does not exist.*\(fixable: run with --fix\)/);
    expect(before.stdout).toMatch(/warn\s+opensearch\.index_template\s+index template \S+ \(\S+\.\*\.\*\.zeroetl-\*\) is missing.*\(fixable: run with --fix\)/);
    expect((await openSearchRequest("HEAD", `/${stateIndex}`, undefined, [404])).status).toBe(404);
    expect((await openSearchRequest("GET", `/_index_template/${template}`, undefined, [404])).status).toBe(404);

    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/fixed\s+opensearch\.state_index\s+state index \S+ created/);
    expect(fixed.stdout).toMatch(/fixed\s+opensearch\.index_template\s+index template \S+ .* created/);
    expect((await openSearchRequest("HEAD", `/${stateIndex}`)).status).toBe(200);
    const installed = (await openSearchRequest("GET", `/_index_template/${template}`)).body.index_templates[0].index_template;
    expect(installed.index_patterns).toEqual([`${prefix}.*.*.zeroetl-*`]);
    expect(installed.template.settings.index).toMatchObject({ number_of_shards: "2", number_of_replicas: "0" });
    expect(installed.template.mappings.dynamic).toBe("strict");

    // an index created by hand under the pattern, with no settings of its own
    const manual = `${prefix}.public.manual.zeroetl-byhand`;
    await openSearchRequest("PUT", `/${encodeURIComponent(manual)}`, {});
    const settings = (await openSearchRequest("GET", `/${encodeURIComponent(manual)}/_settings`)).body[manual].settings.index;
    expect({ shards: settings.number_of_shards, replicas: settings.number_of_replicas }).toEqual({ shards: "2", replicas: "0" });
    const mapping = (await openSearchRequest("GET", `/${encodeURIComponent(manual)}/_mapping`)).body[manual].mappings;
    expect(mapping.dynamic).toBe("strict");
    await openSearchRequest("DELETE", `/${encodeURIComponent(manual)}`);

    // a second check finds both in place
    const again = await runCli(["check", config]);
    expect(again.stdout).toMatch(/ok\s+opensearch\.state_index/);
    expect(again.stdout).toMatch(/ok\s+opensearch\.index_template\s+index template \S+ .* is installed/);
  });

  it("names the field of a bad aws-sigv4 auth in the config", async () => {
    const bad = async (auth: unknown): Promise<string> => {
      const { file } = await writeConfig({ name: "os_bad_auth", source: { type: "postgres", url: source.url }, target: { type: "opensearch", node: openSearchUrl(), auth } });
      const result = await runCli(["check", file]);
      expect(result.code).not.toBe(0);
      return result.stderr;
    };
    expect(await bad({ type: "aws-sigv4" })).toMatch(/target\.auth\.region: expected .*required/);
    expect(await bad({ type: "aws-sigv4", region: "eu-west-1", service: "opensearch" })).toMatch(/target\.auth\.service: .*"es" \(OpenSearch Service\) or "aoss"/);
    expect(await bad({ type: "aws-sigv4", region: "eu-west-1", accessKeyId: "AKID" })).toMatch(/target\.auth\.accessKeyId: expected no such field/);
  });

  it("status shows each index's document count and lag after the existing table rows", async () => {
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await source.query(`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(26, 30) AS i; DELETE FROM notes WHERE id <= 2;`);
    const caughtUp = await runCli(["run", config, "--until-caught-up"]);
    expect(caughtUp.code, caughtUp.stderr).toBe(0);
    const items = `${prefix}.public.items`;
    const notes = `${prefix}.public.notes`;
    // the independent counts, after a refresh
    expect(await countDocuments(items)).toBe(30);
    expect(await countDocuments(notes)).toBe(5);

    const status = await runCli(["status", config]);
    expect(status.code, status.stderr).toBe(0);
    // the existing output stays: the pipeline line and the table rows
    expect(status.stdout).toMatch(/^pipeline os_cs_/m);
    expect(status.stdout).toMatch(/^table\s+state\s+rows\s+last position\s+updated\s+error/m);
    // then the targets: the alias, its documents now, and the lag behind the source's position
    expect(status.stdout).toMatch(/^table\s+target\s+documents\s+lag\s*$/m);
    const row = (table: string): string[] | undefined =>
      status.stdout
        .split("\n")
        .map((line) => line.trim().split(/\s{2,}/))
        .find((cells) => cells[0] === table && cells[1]?.startsWith(prefix) === true);
    expect(row("public.items")?.slice(0, 3)).toEqual(["public.items", items, "30"]);
    expect(row("public.notes")?.slice(0, 3)).toEqual(["public.notes", notes, "5"]);
    // caught up, or the WAL written since (other databases share the server's WAL)
    expect(row("public.items")?.[3]).toMatch(/^(caught up|\d+ bytes of WAL)$/);

    // an index gone from the target is shown as missing
    await openSearchRequest("DELETE", `/${encodeURIComponent(notes)}*`);
    const after = await runCli(["status", config]);
    expect(after.stdout).toMatch(new RegExp(`^public\\.notes\\s+${notes.replaceAll(".", "\\.")}\\s+missing`, "m"));
  });
});
