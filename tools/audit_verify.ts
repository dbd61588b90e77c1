/**
 * `deno task audit-verify <data-dir> [--public-key <hex>]`: walks the audit
 * log's hash chain and checks its Ed25519 seals offline (the vault may be
 * stopped; the index is opened read-only) and names the first broken record
 * or seal. Exit status 0 when the log holds.
 *
 * @module
 */

import { verifyAuditLog } from "../src/meta/mod.ts";

const USAGE = "usage: deno task audit-verify <data-dir> [--public-key <64 hex digits>]";
const args = [...Deno.args];
const at = args.indexOf("--public-key");
let publicKey: Uint8Array | undefined;
if (at >= 0) {
  const hex = args.splice(at, 2)[1] ?? "";
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    console.error(`audit-verify: --public-key must be 64 hex digits\n${USAGE}`);
    Deno.exit(2);
  }
  publicKey = Uint8Array.from(Buffer.from(hex, "hex"));
}
const dataDir = args[0];
if (!dataDir || args.length !== 1) {
  console.error(USAGE);
  Deno.exit(2);
}
let result;
try {
  result = verifyAuditLog(dataDir, { publicKey });
} catch (e) {
  console.error(`audit-verify: Cannot open the index in "${dataDir}": ${(e as Error).message}`);
  Deno.exit(2);
}
console.log(`audit-verify: ${result.summary}`);
Deno.exit(result.ok ? 0 : 1);
