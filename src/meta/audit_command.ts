/**
 * The `audit-verify <data-dir> [--public-key <hex>]` command, shared by
 * `amber audit-verify` (the binary) and `deno task audit-verify`: walks the
 * audit log's hash chain and checks its Ed25519 seals offline (the vault may
 * be stopped; the index is opened read-only) and names the first broken
 * record or seal.
 *
 * @module
 */

import { verifyAuditLog } from "./audit_verify.ts";

/**
 * Runs the command and prints its result.
 *
 * @param args Arguments after the command name: the data dir, optionally `--public-key <hex>`.
 * @param invokedAs How the user ran it, for the usage line (e.g. `amber audit-verify`).
 * @returns Exit status: 0 the log holds, 1 a record or seal is broken, 2 cannot check.
 */
export function auditVerifyCommand(args: string[], invokedAs: string): number {
  const usage = `usage: ${invokedAs} <data-dir> [--public-key <64 hex digits>]`;
  const rest = [...args];
  let publicKey: Uint8Array | undefined;
  const at = rest.indexOf("--public-key");
  if (at >= 0) {
    const hex = rest.splice(at, 2)[1] ?? "";
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      console.error(`audit-verify: --public-key must be 64 hex digits\n${usage}`);
      return 2;
    }
    publicKey = new Uint8Array(Buffer.from(hex, "hex"));
  }
  const dataDir = rest[0];
  if (!dataDir || rest.length > 1) {
    console.error(usage);
    return 2;
  }
  let result;
  try {
    result = verifyAuditLog(dataDir, { publicKey });
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable
      ? "it is outside this binary's sandbox (rebuild with compile.sh --data-dir)"
      : (e as Error).message;
    console.error(`audit-verify: Cannot open the index in "${dataDir}": ${why}`);
    return 2;
  }
  console.log(`audit-verify: ${result.summary}`);
  return result.ok ? 0 : 1;
}
