/**
 * Access keys: the root credential, from the environment or generated on
 * first start and stored sealed in the data dir.
 *
 * @module
 */

import { randomBytes } from "node:crypto";

/** One access key and its secret. */
export interface Credential {
  accessKey: string;
  secretKey: string;
}

/** File in the data dir holding sealed credentials. */
export const CREDENTIALS_FILE = "credentials.json";

interface StoredCredential {
  accessKey: string;
  /** The secret sealed under the vault's secrets key, with the access key bound as context. */
  sealedSecret: string;
}

function randomToken(alphabet: string, length: number): string {
  // Bytes past the largest multiple of the alphabet's size are drawn again: `b % size` alone
  // favoured the first 256 % size characters (crypto review).
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/**
 * A new random secret key: 40 letters and digits (about 238 bits).
 *
 * @returns The secret.
 */
export function generateSecretKey(): string {
  return randomToken("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40);
}

/** Seals and opens secrets; bound to the vault's secrets key by the caller. */
export interface SecretSealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/**
 * Returns the root credential: the configured one, or the stored one, or a
 * new one that is stored sealed and reported as generated so it can be
 * printed once.
 *
 * @param dataDir The data dir.
 * @param sealer Seals stored secrets under the vault key.
 * @param configured Root credential from the environment, if any.
 * @returns The credential and whether it was just generated.
 */
export function ensureRootCredential(
  dataDir: string,
  sealer: SecretSealer,
  configured?: Credential,
): { credential: Credential; generated: boolean } {
  if (configured) return { credential: configured, generated: false };
  const path = `${dataDir}/${CREDENTIALS_FILE}`;
  try {
    const stored = JSON.parse(Deno.readTextFileSync(path)) as { root: StoredCredential };
    return {
      credential: {
        accessKey: stored.root.accessKey,
        secretKey: sealer.open(stored.root.sealedSecret, stored.root.accessKey),
      },
      generated: false,
    };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read "${path}": ${(e as Error).message}`);
    }
  }
  const credential = {
    accessKey: "AK" + randomToken("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18),
    secretKey: generateSecretKey(),
  };
  const file = {
    root: {
      accessKey: credential.accessKey,
      sealedSecret: sealer.seal(credential.secretKey, credential.accessKey),
    },
  };
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  const f = Deno.openSync(tmp, { read: true, write: true });
  f.syncSync();
  f.close();
  Deno.renameSync(tmp, path);
  return { credential, generated: true };
}
