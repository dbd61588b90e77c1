/**
 * Pass-through streams that check a request body against the hash the
 * client announced: `x-amz-content-sha256` ({@linkcode createSha256Verifier})
 * or an `x-amz-checksum-*` value from a header or trailer
 * ({@linkcode createChecksumVerifier}).
 *
 * Both forward bytes untouched and error the stream at the end when the
 * digest differs, so the consumer must commit only after a clean finish.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { S3Error } from "../errors.ts";
import { type ChecksumAlgorithm, checksumHeaderName, createChecksum } from "./checksums.ts";

/** A pass-through stream plus the digest it computed. */
export interface VerifyingStream {
  /** Pipe the body through this. */
  stream: TransformStream<Uint8Array, Uint8Array>;
  /** The computed digest, resolved when the body ended and matched. */
  digest: Promise<string>;
}

function deferred(): {
  promise: Promise<string>;
  resolve: (v: string) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: string) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * Checks that the body hashes to the `x-amz-content-sha256` value.
 *
 * @param expectedHex The announced hex SHA-256 (any case).
 * @returns The stream and the computed hex digest.
 * @throws {S3Error} The stream errors with `XAmzContentSHA256Mismatch`, carrying
 *   `ClientComputedContentSHA256` and `S3ComputedContentSHA256`.
 *
 * @example
 * ```ts
 * import { createSha256Verifier } from "./payload.ts";
 * const { stream } = createSha256Verifier(
 *   "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
 * );
 * const out = await new Response(new Blob(["hello"]).stream().pipeThrough(stream)).text();
 * if (out !== "hello") throw new Error();
 * ```
 */
export function createSha256Verifier(expectedHex: string): VerifyingStream {
  const expected = expectedHex.toLowerCase();
  const hash = createHash("sha256");
  const d = deferred();
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      const actual = hash.digest("hex");
      if (actual !== expected) {
        const e = new S3Error("XAmzContentSHA256Mismatch", {
          extra: { ClientComputedContentSHA256: expected, S3ComputedContentSHA256: actual },
        });
        d.reject(e);
        throw e;
      }
      d.resolve(actual);
    },
    cancel(reason) {
      d.reject(reason);
    },
  });
  return { stream, digest: d.promise };
}

/** Options for {@linkcode createChecksumVerifier}. */
export interface ChecksumVerifierOptions {
  /** The algorithm. */
  algorithm: ChecksumAlgorithm;
  /**
   * The expected base64 digest; a promise for a trailer value (resolved by
   * the time the body ends, as `decodeAwsChunked` does). `undefined` means
   * the announced trailer never came.
   */
  expected: string | Promise<string | undefined>;
}

/**
 * Computes an S3 additional checksum over the body and compares it with the
 * value from the `x-amz-checksum-*` header or trailer.
 *
 * @param opts The algorithm and the expected value.
 * @returns The stream and the computed base64 digest (for storing with the object).
 * @throws {S3Error} The stream errors with `BadDigest` on a mismatch, or
 *   `InvalidRequest` when the announced trailer is missing.
 *
 * @example
 * ```ts
 * import { createChecksumVerifier } from "./payload.ts";
 * const { stream, digest } = createChecksumVerifier({ algorithm: "CRC32", expected: "NhCmhg==" });
 * await new Response(new Blob(["hello"]).stream().pipeThrough(stream)).text();
 * if (await digest !== "NhCmhg==") throw new Error();
 * ```
 */
export function createChecksumVerifier(opts: ChecksumVerifierOptions): VerifyingStream {
  const checksum = createChecksum(opts.algorithm);
  const d = deferred();
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      checksum.update(chunk);
      controller.enqueue(chunk);
    },
    async flush() {
      try {
        const expected = await opts.expected;
        const actual = checksum.digestBase64();
        if (expected === undefined) {
          throw new S3Error("InvalidRequest", {
            message: `The ${
              checksumHeaderName(opts.algorithm)
            } trailer announced in x-amz-trailer was not sent`,
          });
        }
        if (actual !== expected) {
          throw new S3Error("BadDigest", {
            message: `The ${opts.algorithm} you specified did not match the calculated checksum.`,
          });
        }
        d.resolve(actual);
      } catch (e) {
        d.reject(e);
        throw e;
      }
    },
    cancel(reason) {
      d.reject(reason);
    },
  });
  return { stream, digest: d.promise };
}
