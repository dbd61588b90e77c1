import assert from "node:assert/strict";
import { addressOf, splitUrl } from "../app.ts";
import { sha256Hex, verifyRequest } from "../sigv4/mod.ts";
import { s3Path, signRequest } from "./signer.ts";

const SECRET = "console-secret-0123456789";
const NOW = Date.UTC(2026, 10, 23, 3, 30, 0);

async function signAndVerify(
  opts: {
    method?: string;
    bucket: string;
    key: string;
    query?: [string, string][];
    amzHeaders?: Record<string, string>;
    body?: string;
    secret?: string;
  },
) {
  const signed = await signRequest({
    method: opts.method ?? "GET",
    host: "127.0.0.1:9000",
    path: s3Path(opts.bucket, opts.key),
    query: opts.query ?? [],
    amzHeaders: opts.amzHeaders ?? {},
    body: new TextEncoder().encode(opts.body ?? ""),
    accessKeyId: "CONSOLEKEY",
    secretAccessKey: opts.secret ?? SECRET,
    region: "eu-central-1",
    nowMs: NOW,
  });
  // What the vault sees: the browser adds Host and headers of its own, which are not signed.
  const headers = new Headers({
    ...signed.headers,
    host: "127.0.0.1:9000",
    accept: "*/*",
    origin: "http://127.0.0.1:9000",
  });
  const { path, query } = splitUrl(`http://127.0.0.1:9000${signed.url}`);
  const auth = await verifyRequest(
    { method: opts.method ?? "GET", path, query, headers },
    { nowMs: NOW + 1000, lookupSecret: (k) => k === "CONSOLEKEY" ? SECRET : undefined },
  );
  return { auth, address: addressOf(path, { host: "127.0.0.1:9000", domain: "s3.local" }), query };
}

Deno.test("signRequest - ListBuckets is accepted by the vault's SigV4 verifier", async () => {
  const { auth, address } = await signAndVerify({ bucket: "", key: "" });
  assert.deepEqual(auth.accessKey, "CONSOLEKEY");
  assert.deepEqual(auth.region, "eu-central-1");
  assert.deepEqual(address.bucket, "");
});

Deno.test("signRequest - awkward keys survive signing and addressing unchanged", async () => {
  const keys = [
    "plain.txt",
    "db/2026-11-23/full backup.tar.zst",
    "a/../b",
    "a//b/",
    "plus+and%percent",
    "ümlaut/日本語/🙂",
    "quote'\"<tag>&amp;",
    "~tilde_(paren)*!",
  ];
  for (const key of keys) {
    const { address } = await signAndVerify({
      bucket: "locked",
      key,
      query: [["versionId", "v/1+2=3"], ["retention", ""]],
    });
    assert.deepEqual(address.bucket, "locked");
    assert.deepEqual(address.key, key);
  }
});

Deno.test("signRequest - ListObjectVersions query pairs reach the vault decoded", async () => {
  const { query } = await signAndVerify({
    bucket: "b",
    key: "",
    query: [["versions", ""], ["prefix", "db/ x+y"], ["delimiter", "/"], ["key-marker", "é"]],
  });
  assert.deepEqual(
    Object.fromEntries(query),
    { versions: "", prefix: "db/ x+y", delimiter: "/", "key-marker": "é" },
  );
});

Deno.test("signRequest - PutObjectRetention body and x-amz-* headers are signed", async () => {
  const body = "<Retention><Mode>COMPLIANCE</Mode></Retention>";
  const { auth } = await signAndVerify({
    method: "PUT",
    bucket: "b",
    key: "k",
    query: [["retention", ""], ["versionId", "abc"]],
    amzHeaders: {
      "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
      "x-amz-bypass-governance-retention": "true",
    },
    body,
  });
  assert.deepEqual(auth.payload, { kind: "sha256", hex: sha256Hex(body) });
});

Deno.test("signRequest - a wrong secret is refused with SignatureDoesNotMatch", async () => {
  await assert.rejects(
    () => signAndVerify({ bucket: "b", key: "k", secret: "wrong" }),
    { code: "SignatureDoesNotMatch" },
  );
});
