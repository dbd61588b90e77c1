/**
 * Domain errors of the chunk store.
 *
 * The store never speaks HTTP: it throws {@linkcode StoreError} with a
 * discriminating `kind`, and the S3 boundary maps kinds to S3 error codes.
 *
 * @module
 */

/** The reasons a store operation can fail; `unavailable`: too few drives are online to write. */
export type StoreErrorKind =
  | "corrupt"
  | "notFound"
  | "wrongKey"
  | "format"
  | "io"
  | "unavailable";

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
