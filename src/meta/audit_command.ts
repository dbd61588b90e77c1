/**
 * The `audit-verify <data-dir>` command, shared by `amber audit-verify` (the
 * binary) and `deno task audit-verify`: walks the audit log's hash chain
 * offline (the vault may be stopped; the index is opened read-only) and names
 * the first broken record.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type AuditRecord, verifyAudit } from "./audit.ts";

/**
 * Runs the command and prints its result.
 *
 * @param args Arguments after the command name: the data dir.
 * @param invokedAs How the user ran it, for the usage line (e.g. `amber audit-verify`).
 * @returns Exit status: 0 chain intact, 1 a record is broken, 2 cannot check.
 */
export function auditVerifyCommand(args: string[], invokedAs: string): number {
  const dataDir = args[0];
  if (!dataDir || args.length > 1) {
    console.error(`usage: ${invokedAs} <data-dir>`);
    return 2;
  }
  const path = `${dataDir}/meta/index.db`;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable
      ? "it is outside this binary's sandbox (rebuild with compile.sh --data-dir)"
      : (e as Error).message;
    console.error(`audit-verify: Cannot open "${path}": ${why}`);
    return 2;
  }
  try {
    const started = performance.now();
    const rows = db.prepare(
      "SELECT seq, time, op, target, outcome, detail, prev, hash FROM audit ORDER BY seq",
    ).iterate();
    const result = verifyAudit(rows as Iterable<AuditRecord>);
    const ms = performance.now() - started;
    if (result.brokenAt !== undefined) {
      console.log(
        `audit-verify: record ${result.brokenAt} is broken: ${result.why} (${result.checked} records before it are intact)`,
      );
      return 1;
    }
    console.log(`audit-verify: ${result.checked} records, chain intact (${ms.toFixed(0)} ms)`);
    return 0;
  } finally {
    db.close();
  }
}
