/**
 * The parsing of the request headers that announce an S3 additional checksum;
 * the digests themselves are in `src/checksum.ts`.
 *
 * @module
 */

import { S3Error } from "../errors.ts";
import type { HeaderLookup } from "./canonical.ts";
import { CHECKSUM_ALGORITHMS, CHECKSUM_BYTES, type ChecksumAlgorithm } from "../../checksum.ts";

export {
  type Checksum,
  CHECKSUM_ALGORITHMS,
  CHECKSUM_BYTES,
  type ChecksumAlgorithm,
  crc32c,
  crc64nvme,
  createChecksum,
} from "../../checksum.ts";

/** What the request says about its additional checksum. */
export type ChecksumExpectation =
  /** The expected value came in an `x-amz-checksum-<alg>` header. */
  | { algorithm: ChecksumAlgorithm; source: "header"; header: string; expected: string }
  /** The value will arrive as the aws-chunked trailer `header`. */
  | { algorithm: ChecksumAlgorithm; source: "trailer"; header: string };

/** The `x-amz-checksum-<alg>` header name of an algorithm. */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const lower = name.trim().toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === lower);
}

function algorithmOfName(name: string): ChecksumAlgorithm | undefined {
  const upper = name.trim().toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === upper);
}

/**
 * Whether `value` is a well-formed base64 digest for `alg` (right length,
 * padded base64).
 *
 * @param alg The algorithm.
 * @param value The base64 value from a header or trailer.
 * @returns `true` when well formed.
 */
export function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  const n = CHECKSUM_BYTES[alg];
  const len = Math.ceil(n / 3) * 4;
  if (value.length !== len || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  try {
    return atob(value).length === n;
  } catch {
    return false;
  }
}

/**
 * Reads `x-amz-checksum-<alg>`, `x-amz-sdk-checksum-algorithm` and
 * `x-amz-trailer` to find which additional checksum the request carries.
 *
 * @param headers The request headers (a `Headers` or anything with `get` and `forEach`).
 * @returns The expectation, or `undefined` when the request carries no checksum.
 * @throws {S3Error} `InvalidRequest` for more than one checksum, a value of
 *   the wrong shape, an unknown algorithm, or an
 *   `x-amz-sdk-checksum-algorithm` that matches nothing sent.
 *
 * @example
 * ```ts
 * import { parseChecksumHeaders } from "./checksums.ts";
 * const e = parseChecksumHeaders(new Headers({ "x-amz-trailer": "x-amz-checksum-crc32c" }));
 * if (e?.source !== "trailer" || e.algorithm !== "CRC32C") throw new Error();
 * ```
 */
export function parseChecksumHeaders(
  headers: HeaderLookup & { forEach(cb: (value: string, name: string) => void): void },
): ChecksumExpectation | undefined {
  const found: { alg: ChecksumAlgorithm; name: string; value: string }[] = [];
  let unknown: string | undefined;
  headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (!lower.startsWith("x-amz-checksum-")) return;
    if (lower === "x-amz-checksum-type" || lower === "x-amz-checksum-algorithm") return;
    const alg = algorithmOfHeader(lower);
    if (alg === undefined) unknown = lower;
    else found.push({ alg, name: lower, value: value.trim() });
  });
  if (unknown !== undefined) {
    throw new S3Error("InvalidRequest", {
      message: `The algorithm type you specified in the "${unknown}" header is invalid.`,
    });
  }
  const trailer = headers.get("x-amz-trailer");
  let trailerAlg: ChecksumAlgorithm | undefined;
  if (trailer !== null) {
    const names = trailer.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
    const checksumNames = names.filter((s) => s.startsWith("x-amz-checksum-"));
    if (checksumNames.length > 1) {
      throw new S3Error("InvalidRequest", {
        message:
          "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
      });
    }
    if (checksumNames.length === 1) {
      trailerAlg = algorithmOfHeader(checksumNames[0]);
      if (trailerAlg === undefined) {
        throw new S3Error("InvalidRequest", {
          message: `The value specified in the x-amz-trailer header is not supported`,
        });
      }
    }
  }
  if (found.length + (trailerAlg ? 1 : 0) > 1) {
    throw new S3Error("InvalidRequest", {
      message:
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    });
  }
  const sdk = headers.get("x-amz-sdk-checksum-algorithm");
  let sdkAlg: ChecksumAlgorithm | undefined;
  if (sdk !== null) {
    sdkAlg = algorithmOfName(sdk);
    if (sdkAlg === undefined) {
      throw new S3Error("InvalidRequest", {
        message: "Value for x-amz-sdk-checksum-algorithm header is invalid.",
      });
    }
  }
  if (found.length === 1) {
    const { alg, name, value } = found[0];
    if (!isValidChecksumValue(alg, value)) {
      throw new S3Error("InvalidRequest", { message: `Value for ${name} header is invalid.` });
    }
    if (sdkAlg !== undefined && sdkAlg !== alg) {
      throw new S3Error("InvalidRequest", {
        message: "Value for x-amz-sdk-checksum-algorithm header is invalid.",
      });
    }
    return { algorithm: alg, source: "header", header: name, expected: value };
  }
  if (trailerAlg !== undefined) {
    if (sdkAlg !== undefined && sdkAlg !== trailerAlg) {
      throw new S3Error("InvalidRequest", {
        message: "Value for x-amz-sdk-checksum-algorithm header is invalid.",
      });
    }
    return { algorithm: trailerAlg, source: "trailer", header: checksumHeaderName(trailerAlg) };
  }
  if (sdkAlg !== undefined) {
    throw new S3Error("InvalidRequest", {
      message: "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* " +
        "or x-amz-trailer headers were found.",
    });
  }
  return undefined;
}
