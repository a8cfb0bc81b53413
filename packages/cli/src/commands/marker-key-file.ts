import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MARKER_KEY_BYTES, ZeroEtlError } from "@zero-etl/core";

/** The file that holds a pipeline's marker key: `<state dir>/<pipeline>.marker-key`. */
export function markerKeyFile(stateDir: string, pipeline: string): string {
  return join(stateDir, `${pipeline}.marker-key`);
}

/**
 * The pipeline's marker key (`PipelineOptions.markerKey`), from its file in
 * the state directory, created on first use (random, hex, mode 0600, created
 * exclusively so two runs starting at once agree on one key). A file that
 * others may read or write is refused: whoever holds the key can make a
 * running pipeline resync its tables. The key never appears in logs or errors.
 */
export async function loadOrCreateMarkerKey(stateDir: string, pipeline: string): Promise<Uint8Array> {
  const file = markerKeyFile(stateDir, pipeline);
  await mkdir(stateDir, { recursive: true });
  try {
    const handle = await open(file, "wx", 0o600);
    try {
      await handle.writeFile(`${randomBytes(MARKER_KEY_BYTES).toString("hex")}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return readMarkerKey(stateDir, pipeline);
}

/**
 * Reads the pipeline's marker key, which its running pipeline created
 * (`zeroetl resync` signalling a running pipeline); a clear error when it is
 * not there (another `state.dir`, or another host) or not usable.
 */
export async function readMarkerKey(stateDir: string, pipeline: string): Promise<Uint8Array> {
  const file = markerKeyFile(stateDir, pipeline);
  let text: string;
  try {
    const info = await stat(file);
    // a key others can read can be used to forge signals; one others can write can be swapped
    if ((info.mode & 0o077) !== 0) {
      throw new ZeroEtlError(`marker key ${file} may be read or written by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`, { code: "config-invalid" });
    }
    text = await readFile(file, "utf8");
  } catch (error) {
    if (error instanceof ZeroEtlError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ZeroEtlError(
        `no marker key at ${file}: the running pipeline ${pipeline} creates it in its state.dir; run resync with the same state.dir on the same host (or copy the file there, mode 0600)`,
        { code: "config-invalid" },
      );
    }
    throw error;
  }
  const hex = text.trim();
  if (!new RegExp(`^[0-9a-f]{${MARKER_KEY_BYTES * 2}}$`).test(hex)) {
    throw new ZeroEtlError(`marker key ${file} is not ${MARKER_KEY_BYTES} bytes of hex; delete it (stop the pipeline first) and a run creates a new one`, { code: "config-invalid" });
  }
  return Buffer.from(hex, "hex");
}
