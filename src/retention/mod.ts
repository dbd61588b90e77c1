/**
 * The retention engine: pure rules for locked versions and the trusted clock
 * they are measured on. It runs inside the index Worker; nothing here does
 * I/O.
 *
 * @module
 */

export { decide, isRetained, retentionEnd } from "./lock.ts";
export type {
  Decision,
  LockMode,
  LockRequest,
  RefusalReason,
  RetentionPeriod,
  VersionLock,
} from "./lock.ts";
export { attestClock, persistable, readClock } from "./clock.ts";
export type { ClockReading, ClockState } from "./clock.ts";
export {
  APPROVAL_ACTIONS,
  isApproverId,
  isVaultId,
  quorumMet,
  signApproval,
  verifyApproval,
} from "./approvals.ts";
export type { Approval, ApprovalAction, Approved, Approver } from "./approvals.ts";
