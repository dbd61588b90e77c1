/**
 * Domain errors of the chunk store.
 *
 * The store never speaks HTTP: it throws {@linkcode StoreError} with a
 * discriminating `kind`, and the S3 boundary maps kinds to S3 error codes.
 *
 * @module
 */

/**
 * The reasons a store operation can fail; `unavailable`: too few drives are online to write;
 * `full`: a drive has no room left.
 */
export type StoreErrorKind =
  | "corrupt"
  | "notFound"
  | "wrongKey"
  | "format"
  | "io"
  | "unavailable"
  | "full";

/**
 * An error raised by the chunk store, tagged with a {@linkcode StoreErrorKind}.
 *
 * Messages follow std style: sentence case, no trailing period, quoted values,
 * the failed action first.
 *
 * @example Usage
 * ```ts
 * import { StoreError } from "./errors.ts";
 * const e = new StoreError("corrupt", 'Cannot open chunk "ab12": authentication tag mismatch');
 * if (e.kind !== "corrupt") throw new Error("unexpected kind");
 * ```
 */
export class StoreError extends Error {
  /** Why the operation failed. */
  readonly kind: StoreErrorKind;

  /**
   * Creates a store error.
   *
   * @param kind Why the operation failed.
   * @param message Human-readable message in std style.
   * @param options Standard error options, e.g. `cause`.
   */
  constructor(kind: StoreErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.kind = kind;
  }
}

/** Linux errno values that mean "no room": ENOSPC, EFBIG (file-size limit), EDQUOT. */
const NO_ROOM = /\(os error (28|27|122)\)/;

/**
 * Whether a file-system error means the disk (or the file-size limit, or the
 * quota) is full. Deno names none of these with an error class or code, so
 * the errno in the message is what tells.
 *
 * @example
 * ```ts
 * import { isNoRoom } from "./errors.ts";
 * if (!isNoRoom(new Error("No space left on device (os error 28)"))) throw new Error("missed");
 * ```
 */
export function isNoRoom(e: unknown): boolean {
  return e instanceof Error && NO_ROOM.test(e.message);
}
