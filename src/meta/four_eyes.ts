/**
 * Four-eyes rules in the index: with `AMBER_DELETE_QUORUM=N`, removing a
 * version, bypassing governance, deleting a bucket or changing a bucket's
 * lock configuration needs approvals from N distinct approvers. Approvals
 * come with the request (`X-Amber-Approvals`) or are staged beforehand
 * (`POST /approve`); each is checked by the pure rules in
 * `retention/approvals.ts`, used once, and recorded in the same transaction
 * as the change it allows, so a rolled-back change gives its approvals back.
 *
 * @module
 */

import { type ApprovalAction, type Approver, quorumMet, verifyApproval } from "../retention/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";

/** The quorum and who may approve. */
export interface FourEyesConfig {
  /** The vault's id (32 hex digits): approvals name it, so one made for another vault does not count. */
  vault: string;
  /** Distinct approvals needed; 0 turns four-eyes off (time attestations still need one). */
  quorum: number;
  approvers: Approver[];
  /** Longest life of an approval, ms (`AMBER_APPROVAL_TTL`). */
  ttlMs: number;
}

/** Four-eyes settings as configured: secrets as text, public keys in hex. */
export interface FourEyesSettings {
  vault: string;
  quorum: number;
  approvers: { id: string; kind: "hmac" | "ed25519"; key: string }[];
  ttlSeconds: number;
}

/** Turns configured settings into keys. */
export function fourEyesConfig(s: FourEyesSettings): FourEyesConfig {
  return {
    vault: s.vault,
    quorum: s.quorum,
    ttlMs: s.ttlSeconds * 1000,
    approvers: s.approvers.map((a) => ({
      id: a.id,
      kind: a.kind,
      key: a.kind === "hmac"
        ? new TextEncoder().encode(a.key)
        : new Uint8Array(Buffer.from(a.key, "hex")),
    })),
  };
}

/** Asks for the approvals an action on a resource needs; throws `approvalsRequired` when short. */
export type Gate = (action: ApprovalAction, resource: string) => void;

/** A gate that asks nothing, for writes four-eyes does not cover. */
export const OPEN_GATE: Gate = () => {};

/** Four-eyes over one index. */
export class FourEyes {
  #cfg: FourEyesConfig;

  /** @param cfg Quorum, approvers and approval lifetime. */
  constructor(cfg: FourEyesConfig) {
    this.#cfg = cfg;
  }

  /**
   * The gate for one request, inside its write transaction.
   *
   * @param db The index.
   * @param tokens Approval tokens the request carried.
   * @param nowMs Trusted now.
   * @returns The gate.
   */
  gate(db: Db, tokens: readonly string[], nowMs: number): Gate {
    return (action, resource) => {
      const needed = action === "AttestTime" ? Math.max(1, this.#cfg.quorum) : this.#cfg.quorum;
      if (needed === 0) return;
      const approvers: string[] = [];
      const problems: string[] = [];
      for (const token of tokens) {
        const v = verifyApproval(
          token,
          { vault: this.#cfg.vault, action, resource },
          this.#cfg.approvers,
          {
            nowMs,
            maxTtlMs: this.#cfg.ttlMs,
          },
        );
        if (!v.approval) {
          problems.push(v.problem);
          continue;
        }
        const fresh = db.run(
          "INSERT INTO approvals(approver, nonce, action, resource, expires, consumed) VALUES(?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING",
          v.approval.approver,
          v.approval.nonce,
          action,
          resource,
          v.approval.expiresMs,
        );
        if (fresh.changes === 1) approvers.push(v.approval.approver);
        else problems.push(`the approval by "${v.approval.approver}" was already used`);
      }
      // Only approvals of approvers still configured: one removed since (a stolen key, say) no
      // longer counts, though it staged its approval before.
      const current = new Set(this.#cfg.approvers.map((a) => a.id));
      const staged = db.all<{ approver: string; nonce: string }>(
        "SELECT approver, nonce FROM approvals WHERE action = ? AND resource = ? AND consumed = 0 AND expires > ?",
        action,
        resource,
        nowMs,
      ).filter((s) => current.has(s.approver));
      const all = [...approvers, ...staged.map((s) => s.approver)];
      if (!quorumMet(all, needed)) {
        const have = new Set(all).size;
        throw new MetaError(
          "approvalsRequired",
          `${action} on "${resource}" needs approvals from ${needed} distinct approvers ` +
            `(AMBER_DELETE_QUORUM); it has ${have}` + (problems.length ? `: ${problems[0]}` : ""),
          { needed, have },
        );
      }
      for (const s of staged) {
        db.run(
          "UPDATE approvals SET consumed = 1 WHERE approver = ? AND nonce = ?",
          s.approver,
          s.nonce,
        );
      }
    };
  }

  /**
   * The approval a token carries. Called before the audited write too: anyone
   * can `POST /approve`, and a token that does not verify must not reach the
   * audit log.
   *
   * @throws {MetaError} `invalidApproval` unless the token verifies.
   */
  verify(
    req: { token: string; action: ApprovalAction; resource: string },
    nowMs: number,
  ): { approver: string; nonce: string; expiresMs: number } {
    const v = verifyApproval(req.token, { ...req, vault: this.#cfg.vault }, this.#cfg.approvers, {
      nowMs,
      maxTtlMs: this.#cfg.ttlMs,
    });
    if (!v.approval) {
      throw new MetaError("invalidApproval", `The approval does not count: ${v.problem}`);
    }
    return v.approval;
  }

  /**
   * Stages one approval for later use (`POST /approve`), inside a write transaction.
   *
   * @param db The index.
   * @param req The token and what it approves.
   * @param nowMs Trusted now.
   * @returns Who approved and until when (ms).
   */
  stage(
    db: Db,
    req: { token: string; action: ApprovalAction; resource: string },
    nowMs: number,
  ): { approver: string; expires: number } {
    const approval = this.verify(req, nowMs);
    db.run("DELETE FROM approvals WHERE expires <= ?", nowMs);
    const expires = Math.min(approval.expiresMs, nowMs + this.#cfg.ttlMs);
    const r = db.run(
      "INSERT INTO approvals(approver, nonce, action, resource, expires, consumed) VALUES(?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
      approval.approver,
      approval.nonce,
      req.action,
      req.resource,
      expires,
    );
    if (r.changes === 0) {
      throw new MetaError("invalidApproval", "The approval does not count: it was already used");
    }
    return { approver: approval.approver, expires };
  }
}
