/**
 * Four-eyes approvals, pure: the message an approver signs, the token that
 * carries the signature, and its verification. No I/O and no clock: `now` is
 * passed in, and replay protection (each nonce used once) is the caller's.
 *
 * An approval names one vault, one action on one resource and expires; it is signed with
 * either an HMAC secret shared with the vault or an Ed25519 key whose public
 * half the vault holds, so no approver secret ever crosses the wire.
 *
 * Token: `<approver>:<expires, unix seconds>:<nonce>:<signature, base64url>`.
 * Signed message: `amber-approval-v2\n<vault id>\n<action>\n<resource>\n<expires>\n<nonce>`.
 * The vault id (32 hex digits, printed at start-up and by `/healthz`) binds an
 * approval to one vault: one approver key may serve a primary and its replica,
 * whose buckets, keys and version ids are the same (session 12, crypto review;
 * v1 messages named no vault).
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";

/** What needs approvals when a quorum is set. */
export type ApprovalAction =
  | "DeleteObject"
  | "DeleteBucket"
  | "PutObjectLockConfiguration"
  | "PutObjectRetention"
  | "AttestTime";

/** Every action, for validation. */
export const APPROVAL_ACTIONS: readonly ApprovalAction[] = [
  "DeleteObject",
  "DeleteBucket",
  "PutObjectLockConfiguration",
  "PutObjectRetention",
  "AttestTime",
];

/** One configured approver. */
export interface Approver {
  /** Name, `[A-Za-z0-9_-]{1,64}`. */
  id: string;
  /** `hmac`: `key` is the shared secret; `ed25519`: `key` is the 32-byte public key. */
  kind: "hmac" | "ed25519";
  key: Uint8Array;
}

/** A parsed, not yet verified approval. */
export interface ApprovalToken {
  approver: string;
  /** Expiry, unix seconds. */
  expires: number;
  nonce: string;
  signature: Uint8Array;
}

/** A verified approval. */
export interface Approval {
  approver: string;
  /** Expiry, ms since the epoch. */
  expiresMs: number;
  nonce: string;
}

const CONTEXT = "amber-approval-v2";
const VAULT_RE = /^[0-9a-f]{32}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const NONCE_RE = /^[A-Za-z0-9_-]{8,64}$/;
const TOKEN_RE = /^([A-Za-z0-9_-]{1,64}):(\d{1,12}):([A-Za-z0-9_-]{8,64}):([A-Za-z0-9_-]{20,200})$/;

/** What an approval is for. */
export interface Approved {
  /** The vault's id, 32 lowercase hex digits. */
  vault: string;
  action: ApprovalAction;
  /** `/bucket[/key][?versionId=…]`, with the settings for the lock changes. */
  resource: string;
}

/** Whether `vault` is a vault id as approvals name it. */
export function isVaultId(vault: string): boolean {
  return VAULT_RE.test(vault);
}

/** Whether `id` is a valid approver id. */
export function isApproverId(id: string): boolean {
  return ID_RE.test(id);
}

/**
 * The bytes an approver signs.
 *
 * @param a What is approved (vault, action, resource), expiry (unix s), nonce.
 * @returns UTF-8 bytes.
 */
export function approvalMessage(a: Approved & { expires: number; nonce: string }): Uint8Array {
  return new TextEncoder().encode(
    `${CONTEXT}\n${a.vault}\n${a.action}\n${a.resource}\n${a.expires}\n${a.nonce}`,
  );
}

/**
 * Makes an approval token (what `deno task approve` prints).
 *
 * @param approver The approver's id and signing secret (HMAC secret or Ed25519 secret key).
 * @param a What is approved.
 * @returns The token.
 *
 * @example
 * ```ts
 * import { signApproval, verifyApproval } from "./approvals.ts";
 * const secret = new TextEncoder().encode("alice's secret");
 * const vault = "0123456789abcdef0123456789abcdef";
 * const what = { vault, action: "DeleteBucket" as const, resource: "/old", expires: 2_000, nonce: "n0nce-123" };
 * const token = signApproval({ id: "alice", kind: "hmac", secret }, what);
 * const ok = verifyApproval(token, what, [{ id: "alice", kind: "hmac", key: secret }], { nowMs: 1_000_000, maxTtlMs: 3_600_000 });
 * if (!ok.approval) throw new Error(ok.problem);
 * ```
 */
export function signApproval(
  approver: { id: string; kind: "hmac" | "ed25519"; secret: Uint8Array },
  a: Approved & { expires: number; nonce: string },
): string {
  if (!ID_RE.test(approver.id)) throw new RangeError(`Invalid approver id "${approver.id}"`);
  if (!VAULT_RE.test(a.vault)) throw new RangeError("The vault id must be 32 lowercase hex digits");
  if (!NONCE_RE.test(a.nonce)) throw new RangeError("The nonce must be 8–64 of [A-Za-z0-9_-]");
  const msg = approvalMessage(a);
  const sig = approver.kind === "hmac"
    ? createHmac("sha256", approver.secret).update(msg).digest()
    : ed25519.sign(msg, approver.secret);
  return `${approver.id}:${a.expires}:${a.nonce}:${Buffer.from(sig).toString("base64url")}`;
}

/** Parses a token's fields; undefined when it is not a token. */
export function parseApproval(token: string): ApprovalToken | undefined {
  const m = TOKEN_RE.exec(token.trim());
  if (!m) return undefined;
  return {
    approver: m[1],
    expires: Number(m[2]),
    nonce: m[3],
    signature: new Uint8Array(Buffer.from(m[4], "base64url")),
  };
}

/**
 * Verifies one token for one action on one resource.
 *
 * @param token The token.
 * @param what The vault, and the action and resource the request performs.
 * @param approvers The configured approvers.
 * @param opts Trusted now (ms) and the longest lifetime an approval may claim (ms).
 * @returns The approval, or why it does not count.
 */
export function verifyApproval(
  token: string,
  what: Approved,
  approvers: readonly Approver[],
  opts: { nowMs: number; maxTtlMs: number },
): { approval: Approval; problem?: undefined } | { approval?: undefined; problem: string } {
  const t = parseApproval(token);
  if (!t) return { problem: "it is not an approval token" };
  const approver = approvers.find((a) => a.id === t.approver);
  if (!approver) return { problem: `"${t.approver}" is not an approver` };
  const expiresMs = t.expires * 1000;
  if (expiresMs <= opts.nowMs) return { problem: `the approval by "${t.approver}" has expired` };
  if (expiresMs > opts.nowMs + opts.maxTtlMs) {
    return {
      problem: `the approval by "${t.approver}" expires too far ahead (AMBER_APPROVAL_TTL)`,
    };
  }
  const msg = approvalMessage({ ...what, expires: t.expires, nonce: t.nonce });
  let valid = false;
  if (approver.kind === "hmac") {
    const expected = createHmac("sha256", approver.key).update(msg).digest();
    valid = expected.length === t.signature.length && timingSafeEqual(expected, t.signature);
  } else {
    try {
      valid = ed25519.verify(t.signature, msg, approver.key);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    return {
      problem:
        `the approval by "${t.approver}" is not for ${what.action} ${what.resource} on this vault`,
    };
  }
  return { approval: { approver: t.approver, expiresMs, nonce: t.nonce } };
}

/**
 * Whether enough distinct approvers agree.
 *
 * @param approvers Ids of the approvers whose approvals count.
 * @param quorum How many distinct approvers are needed (0: none).
 * @returns True when the quorum is met.
 */
export function quorumMet(approvers: Iterable<string>, quorum: number): boolean {
  return new Set(approvers).size >= quorum;
}
