import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  APPROVAL_ACTIONS,
  type Approver,
  parseApproval,
  signApproval,
  verifyApproval,
} from "./approvals.ts";

const HMAC_SECRET = new TextEncoder().encode("alice shares this with the vault");
const ED_SECRET = new Uint8Array(32).fill(9);
const APPROVERS: Approver[] = [
  { id: "alice", kind: "hmac", key: HMAC_SECRET },
  { id: "bob", kind: "ed25519", key: ed25519.getPublicKey(ED_SECRET) },
];
const SIGNERS = [
  { id: "alice", kind: "hmac" as const, secret: HMAC_SECRET },
  { id: "bob", kind: "ed25519" as const, secret: ED_SECRET },
];
const NOW_MS = 1_800_000_000_000;
const OPTS = { nowMs: NOW_MS, maxTtlMs: 3_600_000 };
const VAULT = "5ee1c0de5ee1c0de5ee1c0de5ee1c0de";
const WHAT = { vault: VAULT, action: "DeleteObject" as const, resource: "/b/k?versionId=v1" };

function token(signer = SIGNERS[0], over: Partial<{ expires: number; nonce: string }> = {}) {
  return signApproval(signer, {
    ...WHAT,
    expires: NOW_MS / 1000 + 600,
    nonce: "nonce-0001",
    ...over,
  });
}

Deno.test("verifyApproval - HMAC and Ed25519 approvals for the request verify", () => {
  for (const signer of SIGNERS) {
    const r = verifyApproval(token(signer), WHAT, APPROVERS, OPTS);
    assert.deepEqual(r.approval, {
      approver: signer.id,
      expiresMs: NOW_MS + 600_000,
      nonce: "nonce-0001",
    });
  }
});

Deno.test("verifyApproval - an approval counts for nothing but its own action and resource", () => {
  for (const signer of SIGNERS) {
    const t = token(signer);
    for (const action of APPROVAL_ACTIONS.filter((a) => a !== WHAT.action)) {
      assert.match(verifyApproval(t, { ...WHAT, action }, APPROVERS, OPTS).problem!, /is not for/);
    }
    for (
      const resource of ["/b/k?versionId=v2", "/b/k", "/b/k2?versionId=v1", "/c/k?versionId=v1"]
    ) {
      assert.match(
        verifyApproval(t, { ...WHAT, resource }, APPROVERS, OPTS).problem!,
        /is not for/,
      );
    }
  }
});

Deno.test("verifyApproval - an approval counts on its own vault only (a replica has the same buckets and versions)", () => {
  for (const signer of SIGNERS) {
    const t = token(signer);
    for (const vault of ["5ee1c0de5ee1c0de5ee1c0de5ee1c0df", "0".repeat(32)]) {
      assert.match(
        verifyApproval(t, { ...WHAT, vault }, APPROVERS, OPTS).problem!,
        /is not for DeleteObject \/b\/k\?versionId=v1 on this vault/,
      );
    }
  }
  // The signer refuses anything but a vault id as the vault prints it.
  for (const vault of ["", "5EE1C0DE5EE1C0DE5EE1C0DE5EE1C0DE", "5ee1c0de"]) {
    assert.throws(
      () => signApproval(SIGNERS[0], { ...WHAT, vault, expires: 1, nonce: "nonce-0001" }),
      /vault id/,
    );
  }
});

Deno.test("verifyApproval - expired, too long-lived, unknown, forged and garbled tokens are refused", () => {
  const cases: [string, RegExp][] = [
    [token(SIGNERS[0], { expires: NOW_MS / 1000 }), /has expired/],
    [token(SIGNERS[1], { expires: NOW_MS / 1000 + 7200 }), /too far ahead/],
    [token({ ...SIGNERS[0], id: "mallory" }), /"mallory" is not an approver/],
    // Bob's name on Alice's signature.
    [token(SIGNERS[0]).replace(/^alice:/, "bob:"), /is not for/],
    // The expiry moved after signing.
    [token(SIGNERS[1]).replace(/:(\d+):/, (_, e) => `:${Number(e) + 1}:`), /is not for/],
    ["alice:123:short:sig", /not an approval token/],
    ["", /not an approval token/],
  ];
  for (const [t, problem] of cases) {
    const r = verifyApproval(t, WHAT, APPROVERS, OPTS);
    assert.equal(r.approval, undefined, t);
    assert.match(r.problem!, problem, t);
  }
});

Deno.test("parseApproval - round-trips the fields of a token", () => {
  const t = parseApproval(token(SIGNERS[1], { nonce: "Abc_def-123" }))!;
  assert.equal(t.approver, "bob");
  assert.equal(t.nonce, "Abc_def-123");
  assert.equal(t.expires, NOW_MS / 1000 + 600);
  assert.equal(t.signature.length, 64);
  assert.throws(() =>
    signApproval({ ...SIGNERS[0], id: "a b" }, { ...WHAT, expires: 1, nonce: "nonce-0001" })
  );
  assert.throws(() => signApproval(SIGNERS[0], { ...WHAT, expires: 1, nonce: "short" }));
});
