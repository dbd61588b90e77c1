/**
 * The metadata index: buckets, object versions, manifests, chunk reference
 * counts and multipart state, in SQLite, inside its own Worker.
 *
 * @module
 */

export { MetaError } from "./errors.ts";
export type { MetaErrorKind } from "./errors.ts";
export { MetaService } from "./service.ts";

/** URL of the index Worker's entry module. */
export const META_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
export { verifyAudit } from "./audit.ts";
export type { AuditRecord } from "./audit.ts";
export { auditVerifyCommand } from "./audit_command.ts";
export { auditSigner } from "./audit_seal.ts";
