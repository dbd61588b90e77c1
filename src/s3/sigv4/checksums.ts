/**
 * The S3 additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and
 * the parsing of the request headers that announce them.
 *
 * CRC32 uses `zlib.crc32`; CRC32C and CRC64NVME are table-driven
 * slicing-by-8 implementations in plain TypeScript; SHA1 and SHA256 use
 * `node:crypto`. Digests are base64 of the big-endian value, as S3 writes
 * them in `x-amz-checksum-*` headers.
 *
 * @example
 * ```ts
 * import { createChecksum } from "./checksums.ts";
 * const c = createChecksum("CRC32C");
 * c.update(new TextEncoder().encode("123456789"));
 * if (c.digestBase64() !== "4waSgw==") throw new Error("bad crc32c");
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { S3Error } from "../errors.ts";
import type { HeaderLookup } from "./canonical.ts";

/** The checksum algorithms S3 supports. */
export type ChecksumAlgorithm = "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256";

/** Every {@linkcode ChecksumAlgorithm}, in the order S3 documents them. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  "CRC32",
  "CRC32C",
  "CRC64NVME",
  "SHA1",
  "SHA256",
];

/** Digest size in bytes of each algorithm; used to validate header values. */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/** An incremental checksum. */
export interface Checksum {
  /** Feeds more bytes. */
  update(bytes: Uint8Array): void;
  /** The digest of everything fed so far, base64 of the big-endian bytes. */
  digestBase64(): string;
}

/** Reflected CRC-32C (Castagnoli) polynomial. */
const CRC32C_POLY = 0x82f63b78;
/** Reflected CRC-64/NVME polynomial, high and low 32-bit halves of 0x9a6c9329ac4bc9b5. */
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;

/** Slicing-by-8 tables for CRC32C: table k at offset k*256. Built on first use. */
let crc32cTable: Uint32Array | undefined;
/** Slicing-by-8 tables for CRC64NVME, split into low and high 32-bit halves. */
let crc64Lo: Uint32Array | undefined;
let crc64Hi: Uint32Array | undefined;

function crc32cTables(): Uint32Array {
  if (crc32cTable) return crc32cTable;
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i];
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  crc32cTable = t;
  return t;
}

function crc64Tables(): [Uint32Array, Uint32Array] {
  if (crc64Lo && crc64Hi) return [crc64Lo, crc64Hi];
  const lo = new Uint32Array(8 * 256);
  const hi = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = (l >>> 1) | ((h & 1) << 31);
      h = h >>> 1;
      if (bit) {
        l ^= CRC64_POLY_LO;
        h ^= CRC64_POLY_HI;
      }
    }
    lo[i] = l >>> 0;
    hi[i] = h >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const pl = lo[(k - 1) * 256 + i];
      const ph = hi[(k - 1) * 256 + i];
      const idx = pl & 0xff;
      // (prev >> 8) ^ T0[prev & 0xff] on 64 bits.
      lo[k * 256 + i] = (((pl >>> 8) | (ph << 24)) ^ lo[idx]) >>> 0;
      hi[k * 256 + i] = ((ph >>> 8) ^ hi[idx]) >>> 0;
    }
  }
  crc64Lo = lo;
  crc64Hi = hi;
  return [lo, hi];
}

/**
 * Continues a CRC-32C over `b`. `crc` is the finalised value of what came
 * before (0 to start), so calls chain like `zlib.crc32`.
 *
 * @param b The bytes.
 * @param crc The previous finalised CRC, 0 for none.
 * @returns The finalised CRC-32C as an unsigned 32-bit number.
 */
export function crc32c(b: Uint8Array, crc = 0): number {
  const t = crc32cTables();
  let c = ~crc >>> 0;
  let i = 0;
  const n = b.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c = t[1792 + (c & 0xff)] ^ t[1536 + ((c >>> 8) & 0xff)] ^ t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^ t[768 + b[i + 4]] ^ t[512 + b[i + 5]] ^ t[256 + b[i + 6]] ^
      t[b[i + 7]];
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ t[(c ^ b[i++]) & 0xff];
  return ~c >>> 0;
}

/**
 * Continues a CRC-64/NVME over `b`, on a value held as two unsigned 32-bit
 * halves. Start with `[0, 0]`.
 *
 * @param b The bytes.
 * @param prev The previous finalised CRC as `[high, low]`.
 * @returns The finalised CRC-64/NVME as `[high, low]`.
 */
export function crc64nvme(
  b: Uint8Array,
  prev: readonly [number, number] = [0, 0],
): [number, number] {
  const [tl, th] = crc64Tables();
  let h = ~prev[0] >>> 0;
  let l = ~prev[1] >>> 0;
  let i = 0;
  const n = b.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const xl = l ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    const xh = h ^ (b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24));
    const a0 = 1792 + (xl & 0xff);
    const a1 = 1536 + ((xl >>> 8) & 0xff);
    const a2 = 1280 + ((xl >>> 16) & 0xff);
    const a3 = 1024 + (xl >>> 24);
    const a4 = 768 + (xh & 0xff);
    const a5 = 512 + ((xh >>> 8) & 0xff);
    const a6 = 256 + ((xh >>> 16) & 0xff);
    const a7 = xh >>> 24;
    l = tl[a0] ^ tl[a1] ^ tl[a2] ^ tl[a3] ^ tl[a4] ^ tl[a5] ^ tl[a6] ^ tl[a7];
    h = th[a0] ^ th[a1] ^ th[a2] ^ th[a3] ^ th[a4] ^ th[a5] ^ th[a6] ^ th[a7];
    i += 8;
  }
  while (i < n) {
    const idx = (l ^ b[i++]) & 0xff;
    l = ((l >>> 8) | (h << 24)) ^ tl[idx];
    h = (h >>> 8) ^ th[idx];
  }
  return [~h >>> 0, ~l >>> 0];
}

function base64OfWords(words: readonly number[]): string {
  let s = "";
  for (const w of words) {
    s += String.fromCharCode((w >>> 24) & 0xff, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
  }
  return btoa(s);
}

/**
 * Creates an incremental checksum for `alg`.
 *
 * @param alg The algorithm.
 * @returns A checksum to feed with `update` and read with `digestBase64`.
 *
 * @example
 * ```ts
 * import { createChecksum } from "./checksums.ts";
 * const c = createChecksum("CRC64NVME");
 * c.update(new TextEncoder().encode("1234"));
 * c.update(new TextEncoder().encode("56789"));
 * if (c.digestBase64() !== "rosUhgp5mIg=") throw new Error("bad crc64nvme");
 * ```
 */
export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  switch (alg) {
    case "CRC32": {
      let crc = 0;
      return {
        update(b) {
          crc = zlib.crc32(b, crc);
        },
        digestBase64: () => base64OfWords([crc]),
      };
    }
    case "CRC32C": {
      let crc = 0;
      return {
        update(b) {
          crc = crc32c(b, crc);
        },
        digestBase64: () => base64OfWords([crc]),
      };
    }
    case "CRC64NVME": {
      let crc: [number, number] = [0, 0];
      return {
        update(b) {
          crc = crc64nvme(b, crc);
        },
        digestBase64: () => base64OfWords(crc),
      };
    }
    case "SHA1":
    case "SHA256": {
      const h = createHash(alg === "SHA1" ? "sha1" : "sha256");
      return {
        update(b) {
          h.update(b);
        },
        digestBase64: () => h.copy().digest("base64"),
      };
    }
  }
}

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
