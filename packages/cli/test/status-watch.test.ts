import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
// a tmux server of this test's own: other tests and people's sessions are not touched
const socket = `zetl-watch-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
const pane = (): string[] => tmux("capture-pane", "-p", "-t", "watch").split("\n");

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the pane shows:\n${pane().join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("zeroetl status --watch, driven under tmux as a person would", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("watch_src");
    target = await createTestDatabase("watch_dst");
    await source.query(`
      CREATE TABLE orders (id int PRIMARY KEY, note text);
      CREATE TABLE customers (id int PRIMARY KEY, name text);
      INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 300) g;
      INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 7) g;`);
  });

  afterAll(async () => {
    try {
      tmux("kill-server");
    } catch {
      // already gone
    }
    await source?.drop();
    await target?.drop();
  });

  it("redraws per-table state and rows in place, follows a resize, and restores the terminal on Ctrl-C", async () => {
    const { file, dir } = await writeConfig({
      name: "watch_pg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    expect((await runCli(["check", file, "--fix"])).code).toBe(0);
    const run = startCli(["run", file]);
    try {
      const raw = join(dir, "pane.raw");
      const command = [process.execPath, "--conditions=zero-etl-source", "--import", "tsx", join(root, "packages/cli/src/bin.ts"), "status", file, "--watch", "--interval", "0.5"]
        .map((a) => `'${a}'`)
        .join(" ");
      // the view starts only once the pane's output is piped to a file, so every frame it draws is in that file
      const piped = join(dir, "piped");
      const gate = `while [ ! -e '${piped}' ]; do sleep 0.05; done`;
      tmux("new-session", "-d", "-s", "watch", "-x", "120", "-y", "30", "-c", root, `bash -c "${gate}; ${command.replace(/"/g, '\\"')}; echo exit=\\$?; sleep 120"`);
      // every byte the view writes, to check how it draws
      tmux("pipe-pane", "-o", "-t", "watch", `cat >> '${raw}'`);
      await writeFile(piped, "");
      // frames drawn so far: each starts at the top left
      const frames = async (): Promise<number> => (await readFile(raw, "latin1").catch(() => "")).split("\x1b[H").length - 1;

      const first = await waitFor("both tables synced in the view", () => {
        const lines = pane();
        return lines.some((l) => /^public\.orders\s+synced\s+300\s/.test(l)) && lines.some((l) => /^public\.customers\s+synced\s+7\s/.test(l)) ? lines : undefined;
      });
      expect(first[0]).toMatch(/^zeroetl status --watch {2}pipeline watch_pg {2}\d\d:\d\d:\d\d UTC/);
      expect(first.some((l) => /^run: process \d+ since \d\d:\d\d:\d\d, running/.test(l))).toBe(true);
      expect(first.some((l) => /^table\s+state\s+rows\s+lag\s+last error$/.test(l))).toBe(true);
      expect(tmux("display-message", "-p", "-t", "watch", "#{alternate_on} #{cursor_flag}").trim()).toBe("1 0");

      // a live change: the same screen shows the new count, one frame, not a scrolled log
      await source.query(`INSERT INTO orders SELECT g, 'late ' || g FROM generate_series(301, 345) g`);
      const updated = await waitFor("the new row count", () => {
        const lines = pane();
        return lines.some((l) => /^public\.orders\s+synced\s+345\s/.test(l)) ? lines : undefined;
      });
      expect(updated.filter((l) => l.startsWith("zeroetl status --watch")).length).toBe(1);
      expect(updated.filter((l) => l.startsWith("public.orders")).length).toBe(1);

      // narrower: lines are cut to the new width at once, the table stays readable
      // (tmux itself cuts the old frame's lines on a resize, so wait for a frame drawn after it)
      const framesBeforeResize = await frames();
      tmux("resize-window", "-t", "watch", "-x", "44", "-y", "16");
      const narrow = await waitFor("a redraw at 44 columns", async () => {
        if ((await frames()) <= framesBeforeResize) return undefined;
        const lines = pane();
        return lines.some((l) => /^public\.orders\s+synced\s+345/.test(l)) && lines[0]?.length === 44 ? lines : undefined;
      });
      expect(narrow.every((l) => l.length <= 44)).toBe(true);

      tmux("send-keys", "-t", "watch", "C-c");
      const after = await waitFor("the view to end", () => {
        const lines = pane();
        return lines.includes("exit=0") ? lines : undefined;
      });
      // back on the normal screen, cursor shown, no frame left behind
      expect(tmux("display-message", "-p", "-t", "watch", "#{alternate_on} #{cursor_flag}").trim()).toBe("0 1");
      expect(after.some((l) => l.includes("zeroetl status --watch"))).toBe(false);

      // drawn in place: every frame starts at the top left and the screen is never cleared whole
      const bytes = await readFile(raw, "latin1");
      // (at least the frame with 300 rows, the one with 345, the one after the resize)
      expect(bytes).toContain("\x1b[?1049h");
      expect(bytes).toContain("\x1b[?1049l");
      expect(bytes).not.toContain("\x1b[2J");
      expect(bytes.split("\x1b[H").length - 1).toBeGreaterThanOrEqual(3);
    } finally {
      run.kill("SIGTERM");
    }
    expect((await run.result).code).toBe(0);
  }, 120_000);
});
