/**
 * The vault lock: a running vault's scrubber holds an exclusive advisory
 * lock (flock) on the keyring file for as long as it runs, and an offline
 * `scrub --repair` takes the same lock, so the two never write one store at
 * once. Opening the keyring read-only is enough for flock.
 *
 * @module
 */

import { KEYRING_FILE } from "../store/mod.ts";

/**
 * Takes the vault lock without waiting.
 *
 * @param dataDir The data dir.
 * @returns The open file holding the lock (close it to release), or undefined
 *   when another process or Worker holds it.
 */
export function tryLockVault(dataDir: string): Deno.FsFile | undefined {
  const file = Deno.openSync(`${dataDir}/${KEYRING_FILE}`, { read: true });
  if (file.tryLockSync(true)) return file;
  file.close();
  return undefined;
}
