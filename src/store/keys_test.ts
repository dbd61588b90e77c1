import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  throws,
} from "node:assert/strict";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { StoreError } from "./errors.ts";
import {
  changePassphrase,
  createKeyring,
  DEMO_VAULT_KEY,
  deriveKeyring,
  KEY_LABELS,
  KEYRING_FORMAT_VERSION,
  openKeyring,
  openSecret,
  SCRYPT_LOG_N_DEFAULT,
  sealSecret,
} from "./keys.ts";

const FAST = { scryptLogN: 10 };

function isKind(kind: StoreError["kind"], pattern: RegExp = /./) {
  return (e: unknown) => e instanceof StoreError && e.kind === kind && pattern.test(e.message);
}

Deno.test("createKeyring - opens with the same passphrase and yields the same keys", () => {
  const { file, keys } = createKeyring("s3cret passphrase", FAST);
  const opened = openKeyring("s3cret passphrase", file);
  assertEquals(opened, keys);
  for (const k of [keys.idKey, keys.sealKey, keys.secretsKey, keys.indexKey]) {
    assertEquals(k.length, 32);
  }
  assertEquals(keys.vaultId.length, 16);
  const all = new Set([keys.idKey, keys.sealKey, keys.secretsKey, keys.indexKey].map(String));
  assertEquals(all.size, 4);
});

Deno.test("createKeyring - file is versioned JSON without the master key in clear", () => {
  const { file, keys } = createKeyring(DEMO_VAULT_KEY, FAST);
  const doc = JSON.parse(file);
  assertEquals(doc.kind, "amber-keyring");
  assertEquals(doc.version, KEYRING_FORMAT_VERSION);
  assertEquals(doc.kdf.name, "scrypt");
  assertEquals([doc.kdf.logN, doc.kdf.r, doc.kdf.p], [10, 8, 1]);
  assertEquals(doc.vaultId.length, 32);
  for (const k of [keys.idKey, keys.sealKey, keys.secretsKey, keys.indexKey]) {
    assert(!file.includes(btoa(String.fromCharCode(...k))));
  }
  // Two vaults never share keys.
  const other = createKeyring(DEMO_VAULT_KEY, FAST);
  assertNotEquals(other.keys.sealKey, keys.sealKey);
  assertNotEquals(other.file, file);
});

Deno.test("createKeyring - default cost is scrypt N=2^16 and under half a second", () => {
  const t0 = performance.now();
  const { file } = createKeyring("pw");
  const ms = performance.now() - t0;
  assertEquals(JSON.parse(file).kdf.logN, SCRYPT_LOG_N_DEFAULT);
  assert(SCRYPT_LOG_N_DEFAULT >= 15);
  assert(ms < 2000, `scrypt took ${ms} ms`);
});

Deno.test("openKeyring - wrong passphrase is wrongKey with the std message", () => {
  const { file } = createKeyring("right", FAST);
  throws(
    () => openKeyring("wrong", file),
    isKind("wrongKey", /^Cannot unlock the vault: the vault key \(AMBER_VAULT_KEY\) is wrong$/),
  );
});

Deno.test("openKeyring - altered parameters fail, malformed files are format errors", () => {
  const { file } = createKeyring("pw", FAST);
  const doc = JSON.parse(file);
  // Weakening the KDF or swapping the vault id breaks the wrap's AAD.
  throws(
    () => openKeyring("pw", JSON.stringify({ ...doc, kdf: { ...doc.kdf, r: 4 } })),
    isKind("wrongKey"),
  );
  throws(
    () => openKeyring("pw", JSON.stringify({ ...doc, vaultId: "00".repeat(16) })),
    isKind("wrongKey"),
  );
  throws(
    () => openKeyring("pw", "{nope"),
    isKind("format", /^Cannot read the keyring: not valid JSON$/),
  );
  throws(
    () => openKeyring("pw", JSON.stringify({ ...doc, version: 2 })),
    isKind("format", /^Cannot read the keyring: unsupported format version 2$/),
  );
  throws(
    () => openKeyring("pw", JSON.stringify({ ...doc, kdf: { ...doc.kdf, logN: 40 } })),
    isKind("format", /"kdf"/),
  );
  throws(
    () => openKeyring("pw", JSON.stringify({ ...doc, wrap: { ...doc.wrap, nonce: "AAAA" } })),
    isKind("format", /"wrap"/),
  );
});

Deno.test("changePassphrase - keeps the data keys", () => {
  const { file, keys } = createKeyring("old", FAST);
  const next = changePassphrase(file, { oldPassphrase: "old", newPassphrase: "new" });
  assertEquals(openKeyring("new", next), keys);
  throws(() => openKeyring("old", next), isKind("wrongKey"));
  throws(
    () => changePassphrase(file, { oldPassphrase: "bad", newPassphrase: "new" }),
    isKind("wrongKey"),
  );
});

Deno.test("deriveKeyring - data keys are HKDF-SHA-256 with the documented labels", () => {
  const master = new Uint8Array(32).fill(5);
  const vaultId = new Uint8Array(16).fill(6);
  const keys = deriveKeyring(master, vaultId);
  const enc = new TextEncoder();
  for (const name of ["idKey", "sealKey", "secretsKey", "indexKey", "inlineKey"] as const) {
    assertEquals(
      keys[name],
      hkdf(sha256, master, new Uint8Array(0), enc.encode(KEY_LABELS[name]), 32),
    );
  }
  assertEquals(keys.vaultId, vaultId);
  assertEquals(KEY_LABELS, {
    idKey: "amber/v1/chunk-id",
    sealKey: "amber/v1/chunk-seal",
    secretsKey: "amber/v1/secrets",
    indexKey: "amber/v1/index",
    inlineKey: "amber/v1/inline-bodies",
  });
  throws(() => deriveKeyring(new Uint8Array(16), vaultId), RangeError);
});

Deno.test("sealSecret - round trips and binds key and context", () => {
  const { keys } = createKeyring("pw", FAST);
  const sealed = sealSecret(keys.secretsKey, "wJalrXUtnFEMI/K7MDENG", { context: "AKID1" });
  assert(sealed.startsWith("s1."));
  assert(!sealed.includes("wJalr"));
  assertEquals(openSecret(keys.secretsKey, sealed, { context: "AKID1" }), "wJalrXUtnFEMI/K7MDENG");
  assertNotEquals(sealSecret(keys.secretsKey, "x"), sealSecret(keys.secretsKey, "x"));
  assertEquals(openSecret(keys.secretsKey, sealSecret(keys.secretsKey, "ünï ✓")), "ünï ✓");
  throws(
    () => openSecret(keys.secretsKey, sealed, { context: "AKID2" }),
    isKind("corrupt", /^Cannot open secret: authentication tag mismatch$/),
  );
  throws(() => openSecret(keys.idKey, sealed, { context: "AKID1" }), isKind("corrupt"));
  throws(() => openSecret(keys.secretsKey, "plain"), isKind("format", /not a sealed secret$/));
  const tampered = sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
  throws(() => openSecret(keys.secretsKey, tampered, { context: "AKID1" }), isKind("corrupt"));
});

Deno.test("createKeyring - rejects an empty passphrase and silly costs", () => {
  throws(() => createKeyring("", FAST), RangeError);
  throws(() => createKeyring("pw", { scryptLogN: 4 }), RangeError);
});
