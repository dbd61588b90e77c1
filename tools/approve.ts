/**
 * `deno task approve`: makes four-eyes approval tokens, offline, on the
 * approver's own machine.
 *
 * ```sh
 * deno task approve keygen                       # an Ed25519 key pair for AMBER_APPROVERS
 * deno task approve --id bob --ed25519-key bob.key --action DeleteObject \
 *   --resource '/backups/db.tar?versionId=…'     # prints the token
 * AMBER_APPROVER_SECRET=… deno task approve --id alice --action DeleteBucket --resource /old
 * ```
 *
 * The token goes in `X-Amber-Approvals` of the request it approves, or is
 * staged with `POST /approve?action=…&resource=…` and `X-Amber-Approval`.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import {
  APPROVAL_ACTIONS,
  type ApprovalAction,
  isVaultId,
  signApproval,
} from "../src/retention/mod.ts";

const USAGE = `usage: deno task approve keygen
       deno task approve --id <approver> (--ed25519-key <file> | env AMBER_APPROVER_SECRET)
                         --vault <vault id, as the vault prints at start and /healthz names it>
                         --action <${
  APPROVAL_ACTIONS.join("|")
}> --resource </bucket[/key][?versionId=…]>
                         [--ttl <seconds, default 3600>]`;

function fail(message: string): never {
  console.error(`approve: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

if (Deno.args[0] === "keygen") {
  const secret = ed25519.utils.randomSecretKey();
  console.log(`secret key (keep it on this machine, in a file): ${hex(secret)}`);
  console.log(
    `public key (for AMBER_APPROVERS, as <id>=ed25519:<key>): ${hex(ed25519.getPublicKey(secret))}`,
  );
  Deno.exit(0);
}

const opts = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) {
  const [name, value] = [Deno.args[i], Deno.args[i + 1]];
  if (!name.startsWith("--") || value === undefined) fail(`Unexpected argument "${name}"`);
  opts.set(name.slice(2), value);
}
const id = opts.get("id") ?? fail("--id is required");
const vault = (opts.get("vault") ?? fail("--vault is required")).toLowerCase();
if (!isVaultId(vault)) fail(`"${vault}" is not a vault id (32 hex digits)`);
const action = opts.get("action") ?? fail("--action is required");
if (!(APPROVAL_ACTIONS as readonly string[]).includes(action)) fail(`Unknown action "${action}"`);
const resource = opts.get("resource") ?? fail("--resource is required");
const ttl = Number(opts.get("ttl") ?? "3600");
if (!Number.isInteger(ttl) || ttl < 1) fail("--ttl must be whole seconds");
const keyFile = opts.get("ed25519-key");
let signer: { id: string; kind: "hmac" | "ed25519"; secret: Uint8Array };
if (keyFile !== undefined) {
  const text = Deno.readTextFileSync(keyFile).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) fail(`"${keyFile}" does not hold a 64-hex-digit secret key`);
  signer = { id, kind: "ed25519", secret: new Uint8Array(Buffer.from(text, "hex")) };
} else {
  const secret = Deno.env.get("AMBER_APPROVER_SECRET") ??
    fail("Give --ed25519-key or set AMBER_APPROVER_SECRET");
  signer = { id, kind: "hmac", secret: new TextEncoder().encode(secret) };
}
const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
const expires = Math.floor(Date.now() / 1000) + ttl;
console.log(
  signApproval(signer, { vault, action: action as ApprovalAction, resource, expires, nonce }),
);
