/**
 * Opening a vault's data dir: the keyring (created on first start) and the
 * sealing of stored secrets.
 *
 * @module
 */

import { createKeyring, type Keyring, openKeyring, openSecret, sealSecret } from "./keys.ts";

/** File in the data dir holding the wrapped master key. */
export const KEYRING_FILE = "keyring.json";

/**
 * Opens the keyring in `dataDir`, creating the data dir and a new keyring on
 * first start. A wrong passphrase throws before anything is written.
 *
 * @param dataDir The data dir.
 * @param passphrase The vault key.
 * @returns The keys and whether the vault was just created.
 */
export function openVault(
  dataDir: string,
  passphrase: string,
): { keys: Keyring; created: boolean } {
  const path = `${dataDir}/${KEYRING_FILE}`;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (text !== undefined) return { keys: openKeyring(passphrase, text), created: false };
  Deno.mkdirSync(dataDir, { recursive: true });
  const { file, keys } = createKeyring(passphrase);
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, file, { mode: 0o600 });
  const f = Deno.openSync(tmp, { read: true, write: true });
  f.syncSync();
  f.close();
  Deno.renameSync(tmp, path);
  const dir = Deno.openSync(dataDir, { read: true });
  try {
    dir.syncSync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is then as durable as the platform allows.
  } finally {
    dir.close();
  }
  return { keys, created: true };
}

/** A sealer for stored secrets under the keyring's secrets key. */
export function secretSealer(
  keys: Keyring,
): { seal(p: string, c: string): string; open(s: string, c: string): string } {
  return {
    seal: (plaintext, context) => sealSecret(keys.secretsKey, plaintext, { context }),
    open: (sealed, context) => openSecret(keys.secretsKey, sealed, { context }),
  };
}
