/**
 * Opening a vault's data dir: the keyring (created on first start) and the
 * sealing of stored secrets.
 *
 * @module
 */

import { writeFileDurably } from "./durable_file.ts";
import { pathExists } from "../ops/boot.ts";
import { StoreError } from "./errors.ts";
import { createKeyring, type Keyring, openKeyring, openSecret, sealSecret } from "./keys.ts";

/** File in the data dir holding the wrapped master key. */
export const KEYRING_FILE = "keyring.json";

/**
 * Shortest vault key a new vault takes, in characters. The key is stretched
 * with scrypt, but a short one is still guessable offline by whoever has the
 * disks (session-12 crypto review). A vault made before keeps its key.
 */
export const MIN_NEW_VAULT_KEY_CHARS = 12;

/** What a vault keeps in its data dir besides the keyring (an empty mount point has lost+found). */
const VAULT_ENTRIES = ["store", "meta", "credentials.json"];

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
  // A new keyring is a new master key: never one for a vault whose keyring went missing.
  const held = VAULT_ENTRIES.filter((name) => pathExists(`${dataDir}/${name}`));
  if (held.length > 0) {
    throw new StoreError(
      "notFound",
      `${KEYRING_FILE} is missing, but the data dir holds a vault (${
        held.join(", ")
      }): restore ${KEYRING_FILE} from your backup`,
    );
  }
  const chars = [...passphrase].length;
  if (chars < MIN_NEW_VAULT_KEY_CHARS) {
    throw new Error(
      `the vault key (AMBER_VAULT_KEY) has ${chars} characters; a new vault needs at least ${MIN_NEW_VAULT_KEY_CHARS}`,
    );
  }
  Deno.mkdirSync(dataDir, { recursive: true });
  const { file, keys } = createKeyring(passphrase);
  writeFileDurably(path, file, 0o600);
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

/**
 * Takes the vault lock without waiting: an exclusive advisory lock (flock)
 * on the keyring file. A running vault holds it for as long as it runs
 * (taken before any Worker starts), and offline tools that write (`scrub --repair`, `rebuild-index`)
 * take it, so they never write a vault that is running.
 *
 * @param dataDir The data dir.
 * @returns The open file holding the lock (close it to release), or undefined
 *   when another process holds it.
 */
export function tryLockVault(dataDir: string): Deno.FsFile | undefined {
  const file = Deno.openSync(`${dataDir}/${KEYRING_FILE}`, { read: true });
  if (file.tryLockSync(true)) return file;
  file.close();
  return undefined;
}
