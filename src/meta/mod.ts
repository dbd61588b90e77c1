/**
 * The metadata index: buckets, object versions, manifests, chunk reference
 * counts and multipart state, in SQLite, inside its own Worker.
 *
 * @module
 */

export { MetaError } from "./errors.ts";
export type { MetaErrorKind } from "./errors.ts";
export { MetaService } from "./service.ts";

export * from "./boot.ts";
export { verifyAudit } from "./audit.ts";
export type { AuditRecord } from "./audit.ts";
export { auditVerifyCommand } from "./audit_command.ts";
