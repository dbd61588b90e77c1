/**
 * The vault's key hierarchy.
 *
 * ```
 * passphrase (AMBER_VAULT_KEY)
 *   └─ scrypt(salt, N, r, p) ─→ KEK
 *        └─ XChaCha20-Poly1305 unwrap ─→ master key (random, 32 bytes)
 *             └─ HKDF-SHA-256 ─→ idKey     "amber/v1/chunk-id"
 *                              ─→ sealKey   "amber/v1/chunk-seal"
 *                              ─→ secretsKey "amber/v1/secrets"
 *                              ─→ indexKey  "amber/v1/index"
 *                              ─→ inlineKey "amber/v1/inline-bodies"
 * ```
 *
 * The keyring file is a small JSON document holding the scrypt parameters,
 * salt and the wrapped master key; the parameters are bound to the wrap as
 * associated data. Changing the passphrase rewraps the same master key, so
 * no chunk needs re-encrypting.
 *
 * Pure apart from `crypto.getRandomValues` for salts, keys and nonces.
 *
 * @module
 */

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { Buffer } from "node:buffer";
import { hkdfSync, scryptSync } from "node:crypto";
import { StoreError } from "./errors.ts";
import { VAULT_ID_BYTES } from "./format.ts";

/**
 * Passphrase used when `AMBER_VAULT_KEY` is unset, so a demo vault starts
 * with no setup. Anyone can unlock a vault created with it.
 */
export const DEMO_VAULT_KEY = "amber-demo-vault-key-not-for-production";

/** Version of the keyring file format. */
export const KEYRING_FORMAT_VERSION = 1;

/**
 * Default scrypt cost as log2(N), with r = 8 and p = 1 (64 MiB of memory).
 * Measured on the target machine: 2^15 ≈ 115 ms, 2^16 ≈ 230 ms,
 * 2^17 ≈ 515 ms; 2^16 is the strongest under half a second.
 */
export const SCRYPT_LOG_N_DEFAULT = 16;

/** Bytes of every key in the hierarchy. */
export const KEY_BYTES = 32;

/** HKDF labels; changing one changes every key derived from it. */
export const KEY_LABELS = {
  idKey: "amber/v1/chunk-id",
  sealKey: "amber/v1/chunk-seal",
  secretsKey: "amber/v1/secrets",
  indexKey: "amber/v1/index",
  inlineKey: "amber/v1/inline-bodies",
} as const;

const KEYRING_KIND = "amber-keyring";
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const XNONCE_BYTES = 24;
/** Bounds on parameters read from a file, so a bad file cannot stall startup. */
const SCRYPT_LOG_N_MIN = 10;
const SCRYPT_LOG_N_MAX = 22;
const SECRET_PREFIX = "s1.";

/** The vault's data keys, each 32 bytes. */
export interface Keyring {
  /** Random id of the vault, written into segment headers and drive markers. */
  vaultId: Uint8Array;
  /** HMAC key for chunk ids. */
  idKey: Uint8Array;
  /** AEAD key for sealed chunks. */
  sealKey: Uint8Array;
  /** AEAD key for stored credentials ({@linkcode sealSecret}). */
  secretsKey: Uint8Array;
  /** Key for the metadata index. */
  indexKey: Uint8Array;
  /** AEAD key for the tiny object bodies kept in the index (src/inline_body.ts). */
  inlineKey: Uint8Array;
}

/** Options for {@linkcode createKeyring}. */
export interface CreateKeyringOptions {
  /**
   * scrypt cost as log2(N), between 10 and 22. Lower only in tests.
   * @default {SCRYPT_LOG_N_DEFAULT}
   */
  scryptLogN?: number;
}

/** The keyring file as stored (JSON). */
interface KeyringFile {
  kind: typeof KEYRING_KIND;
  version: number;
  vaultId: string;
  kdf: { name: "scrypt"; logN: number; r: number; p: number; salt: string };
  wrap: { alg: "xchacha20poly1305"; nonce: string; ciphertext: string };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function unb64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function deriveKek(passphrase: string, kdf: KeyringFile["kdf"], salt: Uint8Array): Uint8Array {
  const N = 2 ** kdf.logN;
  const out = scryptSync(passphrase.normalize("NFC"), salt, KEY_BYTES, {
    N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 128 * N * kdf.r * kdf.p + 16 * 1024 * 1024,
  });
  return new Uint8Array(out);
}

/** Associated data binding the wrap to the file's version, vault id and KDF. */
function wrapAad(file: Omit<KeyringFile, "wrap">): Uint8Array {
  const { kdf } = file;
  return new TextEncoder().encode(
    `${KEYRING_KIND}/v${file.version}/${file.vaultId}/scrypt/${kdf.logN}/${kdf.r}/${kdf.p}/${kdf.salt}`,
  );
}

/**
 * Derives the data keys from a master key with HKDF-SHA-256 (empty salt, the
 * {@linkcode KEY_LABELS} as info).
 *
 * @param master The 32-byte master key.
 * @param vaultId The vault id to carry along.
 * @returns The keyring.
 */
export function deriveKeyring(master: Uint8Array, vaultId: Uint8Array): Keyring {
  if (master.length !== KEY_BYTES) {
    throw new RangeError(`Cannot derive keys: master key must be ${KEY_BYTES} bytes`);
  }
  const derive = (label: string) =>
    new Uint8Array(hkdfSync("sha256", master, new Uint8Array(0), label, KEY_BYTES));
  return {
    vaultId,
    idKey: derive(KEY_LABELS.idKey),
    sealKey: derive(KEY_LABELS.sealKey),
    secretsKey: derive(KEY_LABELS.secretsKey),
    indexKey: derive(KEY_LABELS.indexKey),
    inlineKey: derive(KEY_LABELS.inlineKey),
  };
}

function wrapMaster(
  passphrase: string,
  master: Uint8Array,
  vaultId: Uint8Array,
  logN: number,
): string {
  if (passphrase.length === 0) {
    throw new RangeError("Cannot create the keyring: the vault key is empty");
  }
  if (!Number.isInteger(logN) || logN < SCRYPT_LOG_N_MIN || logN > SCRYPT_LOG_N_MAX) {
    throw new RangeError(`Cannot create the keyring: scrypt log2(N) must be 10..22, got ${logN}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const head: Omit<KeyringFile, "wrap"> = {
    kind: KEYRING_KIND,
    version: KEYRING_FORMAT_VERSION,
    vaultId: hex(vaultId),
    kdf: { name: "scrypt", logN, r: SCRYPT_R, p: SCRYPT_P, salt: b64(salt) },
  };
  const kek = deriveKek(passphrase, head.kdf, salt);
  const nonce = randomBytes(XNONCE_BYTES);
  const ciphertext = xchacha20poly1305(kek, nonce, wrapAad(head)).encrypt(master);
  const file: KeyringFile = {
    ...head,
    wrap: { alg: "xchacha20poly1305", nonce: b64(nonce), ciphertext: b64(ciphertext) },
  };
  return JSON.stringify(file, null, 2) + "\n";
}

/**
 * Creates a new vault keyring: a random vault id and master key, wrapped
 * under the passphrase.
 *
 * @example Usage
 * ```ts
 * import { createKeyring, openKeyring } from "./keys.ts";
 * const { file, keys } = createKeyring("correct horse", { scryptLogN: 10 });
 * const again = openKeyring("correct horse", file);
 * if (again.sealKey.join() !== keys.sealKey.join()) throw new Error("mismatch");
 * ```
 *
 * @param passphrase The vault key (`AMBER_VAULT_KEY`, or {@linkcode DEMO_VAULT_KEY}).
 * @param opts scrypt cost.
 * @returns The keyring file text (JSON, to be written by the caller) and the keys.
 */
export function createKeyring(
  passphrase: string,
  opts: CreateKeyringOptions = {},
): { file: string; keys: Keyring } {
  const master = randomBytes(KEY_BYTES);
  const vaultId = randomBytes(VAULT_ID_BYTES);
  const file = wrapMaster(passphrase, master, vaultId, opts.scryptLogN ?? SCRYPT_LOG_N_DEFAULT);
  return { file, keys: deriveKeyring(master, vaultId) };
}

function formatError(reason: string): StoreError {
  return new StoreError("format", `Cannot read the keyring: ${reason}`);
}

function isBase64(s: unknown): s is string {
  return typeof s === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** Parses and validates a keyring file without unlocking it. */
function parseFile(text: string): KeyringFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw formatError("not valid JSON");
  }
  const f = doc as Partial<KeyringFile> | null;
  if (typeof f !== "object" || f === null || f.kind !== KEYRING_KIND) {
    throw formatError(`"kind" is not "${KEYRING_KIND}"`);
  }
  if (f.version !== KEYRING_FORMAT_VERSION) {
    throw formatError(`unsupported format version ${JSON.stringify(f.version)}`);
  }
  if (typeof f.vaultId !== "string" || !/^[0-9a-f]{32}$/.test(f.vaultId)) {
    throw formatError(`"vaultId" must be 32 hex digits`);
  }
  const kdf = f.kdf;
  if (
    !kdf || kdf.name !== "scrypt" || !Number.isInteger(kdf.logN) ||
    kdf.logN < SCRYPT_LOG_N_MIN || kdf.logN > SCRYPT_LOG_N_MAX ||
    !Number.isInteger(kdf.r) || kdf.r < 1 || kdf.r > 32 ||
    !Number.isInteger(kdf.p) || kdf.p < 1 || kdf.p > 16 || !isBase64(kdf.salt)
  ) {
    throw formatError(`"kdf" has unsupported or out-of-range parameters`);
  }
  const wrap = f.wrap;
  if (
    !wrap || wrap.alg !== "xchacha20poly1305" || !isBase64(wrap.nonce) ||
    !isBase64(wrap.ciphertext)
  ) {
    throw formatError(`"wrap" is malformed`);
  }
  return f as KeyringFile;
}

function unwrapMaster(passphrase: string, file: KeyringFile): Uint8Array {
  const kek = deriveKek(passphrase, file.kdf, unb64(file.kdf.salt));
  const nonce = unb64(file.wrap.nonce);
  const ciphertext = unb64(file.wrap.ciphertext);
  if (nonce.length !== XNONCE_BYTES || ciphertext.length !== KEY_BYTES + 16) {
    throw formatError(`"wrap" has the wrong nonce or key length`);
  }
  const { wrap: _, ...head } = file;
  try {
    return xchacha20poly1305(kek, nonce, wrapAad(head)).decrypt(ciphertext);
  } catch (cause) {
    throw new StoreError(
      "wrongKey",
      "Cannot unlock the vault: the vault key (AMBER_VAULT_KEY) is wrong",
      { cause },
    );
  }
}

/**
 * Unlocks a keyring file.
 *
 * @param passphrase The vault key.
 * @param file The keyring file text from {@linkcode createKeyring}.
 * @returns The vault's keys.
 * @throws {StoreError} `wrongKey` if the passphrase does not unwrap the master
 * key (or the file's parameters were altered); `format` if the file is
 * malformed or of an unknown version.
 */
export function openKeyring(passphrase: string, file: string): Keyring {
  const parsed = parseFile(file);
  const master = unwrapMaster(passphrase, parsed);
  return deriveKeyring(master, hexToBytes(parsed.vaultId));
}

function hexToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

/**
 * Rewraps the master key under a new passphrase. Data keys, and so every
 * stored chunk, stay valid.
 *
 * @param file The current keyring file text.
 * @param passphrases The current and the new vault key.
 * @param opts scrypt cost for the new wrap.
 * @returns The new keyring file text.
 * @throws {StoreError} `wrongKey` if `oldPassphrase` is wrong; `format` for a bad file.
 */
export function changePassphrase(
  file: string,
  passphrases: { oldPassphrase: string; newPassphrase: string },
  opts: CreateKeyringOptions = {},
): string {
  const parsed = parseFile(file);
  const master = unwrapMaster(passphrases.oldPassphrase, parsed);
  return wrapMaster(
    passphrases.newPassphrase,
    master,
    hexToBytes(parsed.vaultId),
    opts.scryptLogN ?? parsed.kdf.logN,
  );
}

/** Options for {@linkcode sealSecret} and {@linkcode openSecret}. */
export interface SecretOptions {
  /**
   * Context bound as associated data, e.g. the access key id the secret
   * belongs to, so a sealed secret cannot be moved to another row.
   * @default {""}
   */
  context?: string;
}

/**
 * Encrypts a credential for storage (XChaCha20-Poly1305, random nonce).
 *
 * @example Usage
 * ```ts
 * import { openSecret, sealSecret } from "./keys.ts";
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const sealed = sealSecret(key, "wJalrXUtnFEMI", { context: "AKIA1" });
 * if (openSecret(key, sealed, { context: "AKIA1" }) !== "wJalrXUtnFEMI") throw new Error();
 * ```
 *
 * @param secretsKey `Keyring.secretsKey`.
 * @param plaintext The secret.
 * @param opts Context to bind.
 * @returns `"s1."` followed by base64 of nonce and ciphertext.
 */
export function sealSecret(
  secretsKey: Uint8Array,
  plaintext: string,
  opts: SecretOptions = {},
): string {
  const nonce = randomBytes(XNONCE_BYTES);
  const aad = new TextEncoder().encode(opts.context ?? "");
  const ct = xchacha20poly1305(secretsKey, nonce, aad).encrypt(
    new TextEncoder().encode(plaintext),
  );
  const out = new Uint8Array(XNONCE_BYTES + ct.length);
  out.set(nonce);
  out.set(ct, XNONCE_BYTES);
  return SECRET_PREFIX + b64(out);
}

/**
 * Decrypts a credential sealed by {@linkcode sealSecret}.
 *
 * @param secretsKey `Keyring.secretsKey`.
 * @param sealed The sealed string.
 * @param opts The context it was sealed with.
 * @returns The secret.
 * @throws {StoreError} `format` if `sealed` is not a sealed secret; `corrupt`
 * if it does not authenticate (altered, other key, other context).
 */
export function openSecret(
  secretsKey: Uint8Array,
  sealed: string,
  opts: SecretOptions = {},
): string {
  const body = sealed.startsWith(SECRET_PREFIX) ? sealed.slice(SECRET_PREFIX.length) : null;
  const bytes = body !== null && isBase64(body) ? unb64(body) : null;
  if (!bytes || bytes.length < XNONCE_BYTES + 16) {
    throw new StoreError("format", "Cannot open secret: not a sealed secret");
  }
  const aad = new TextEncoder().encode(opts.context ?? "");
  try {
    const plain = xchacha20poly1305(secretsKey, bytes.subarray(0, XNONCE_BYTES), aad)
      .decrypt(bytes.subarray(XNONCE_BYTES));
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch (cause) {
    throw new StoreError("corrupt", "Cannot open secret: authentication tag mismatch", { cause });
  }
}
