/**
 * `deno task audit-verify <data-dir>`: walks the audit log's hash chain
 * offline (the vault may be stopped; the index is opened read-only) and
 * names the first broken record. Exit status 0 when the chain is intact.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type AuditRecord, verifyAudit } from "../src/meta/mod.ts";

const dataDir = Deno.args[0];
if (!dataDir) {
  console.error("usage: deno task audit-verify <data-dir>");
  Deno.exit(2);
}
const path = `${dataDir}/meta/index.db`;
let db: DatabaseSync;
try {
  db = new DatabaseSync(path, { readOnly: true });
} catch (e) {
  console.error(`audit-verify: Cannot open "${path}": ${(e as Error).message}`);
  Deno.exit(2);
}
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
  Deno.exit(1);
}
console.log(`audit-verify: ${result.checked} records, chain intact (${ms.toFixed(0)} ms)`);
