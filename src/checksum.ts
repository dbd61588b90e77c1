/**
 * The S3 additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): the
 * digests, and the checksum of a multipart object made from its parts'
 * (COMPOSITE: the digest of the parts' digests; FULL_OBJECT: the parts' CRCs
 * combined, as if the whole object had been fed at once). Pure; shared by the
 * router, which checks requests, and the index, which completes uploads.
 *
 * CRC32 uses `zlib.crc32`; CRC32C and CRC64NVME are table-driven
 * slicing-by-8 implementations in plain TypeScript; SHA1 and SHA256 use
 * `node:crypto`. Digests are base64 of the big-endian value, as S3 writes
 * them in `x-amz-checksum-*` headers.
 *
 * @example
 * ```ts
 * import { createChecksum } from "./checksum.ts";
 * const c = createChecksum("CRC32C");
 * c.update(new TextEncoder().encode("123456789"));
 * if (c.digestBase64() !== "4waSgw==") throw new Error("bad crc32c");
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import zlib from "node:zlib";

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
 * import { createChecksum } from "./checksum.ts";
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

/** How a multipart object's checksum is made from its parts'. */
export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

/**
 * The checksum type an upload gets when it names none: S3 gives CRC64NVME a
 * FULL_OBJECT checksum (its only kind) and every other algorithm a COMPOSITE one.
 */
export function defaultChecksumType(alg: ChecksumAlgorithm): ChecksumType {
  return alg === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE";
}

/** Whether S3 allows `type` with `alg`: only CRCs combine into FULL_OBJECT, CRC64NVME into nothing else. */
export function checksumTypeAllowed(alg: ChecksumAlgorithm, type: ChecksumType): boolean {
  if (type === "FULL_OBJECT") return alg.startsWith("CRC");
  return alg !== "CRC64NVME";
}

/** A reflected CRC: its width in bits and reversed polynomial, for combining. */
interface CrcShape {
  width: bigint;
  poly: bigint;
  /** x^(2^k) mod P for k = 0, 1, …, grown on demand. */
  powers: bigint[];
}

const CRC_SHAPES: Partial<Record<ChecksumAlgorithm, CrcShape>> = {
  CRC32: { width: 32n, poly: 0xedb88320n, powers: [] },
  CRC32C: { width: 32n, poly: BigInt(CRC32C_POLY), powers: [] },
  CRC64NVME: {
    width: 64n,
    poly: (BigInt(CRC64_POLY_HI) << 32n) | BigInt(CRC64_POLY_LO),
    powers: [],
  },
};

/** a·b modulo the CRC's polynomial, both in its reflected form (x^0 is the top bit), as zlib's multmodp. */
function multModP(shape: CrcShape, a: bigint, b: bigint): bigint {
  let m = 1n << (shape.width - 1n);
  let p = 0n;
  while (m !== 0n) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ shape.poly : b >> 1n;
  }
  return p;
}

/** x^(8·bytes) modulo the polynomial: what appending that many bytes does to a CRC. */
function shiftOfBytes(shape: CrcShape, bytes: number): bigint {
  let p = 1n << (shape.width - 1n);
  let e = BigInt(bytes) * 8n;
  for (let k = 0; e > 0n; k++, e >>= 1n) {
    if (shape.powers.length === k) {
      const prev = shape.powers[k - 1];
      shape.powers.push(k === 0 ? 1n << (shape.width - 2n) : multModP(shape, prev, prev));
    }
    if (e & 1n) p = multModP(shape, shape.powers[k], p);
  }
  return p;
}

function bigintOfBase64(value: string): bigint {
  let n = 0n;
  for (const c of atob(value)) n = (n << 8n) | BigInt(c.charCodeAt(0));
  return n;
}

function base64OfBigint(n: bigint, bytes: number): string {
  let s = "";
  for (let i = bytes - 1; i >= 0; i--) {
    s += String.fromCharCode(Number((n >> BigInt(i * 8)) & 0xffn));
  }
  return btoa(s);
}

/**
 * The checksum of a multipart object made from its parts' checksums, in
 * order: FULL_OBJECT combines CRCs (zlib's crc32_combine: the CRC of the
 * whole object, as if it had been fed at once); COMPOSITE is the algorithm's
 * digest of the parts' digests, then `-N`.
 *
 * @param alg The algorithm every part's checksum is in.
 * @param type How to make it; FULL_OBJECT needs a CRC.
 * @param parts Each part's checksum (base64) and size in bytes.
 * @returns The object's checksum as S3 writes it.
 *
 * @example
 * ```ts
 * import { createChecksum, multipartChecksum } from "./checksum.ts";
 * const crc = (s: string) => {
 *   const c = createChecksum("CRC32");
 *   c.update(new TextEncoder().encode(s));
 *   return c.digestBase64();
 * };
 * const whole = multipartChecksum("CRC32", "FULL_OBJECT", [
 *   { value: crc("12345"), size: 5 },
 *   { value: crc("6789"), size: 4 },
 * ]);
 * if (whole !== crc("123456789")) throw new Error("bad combine");
 * ```
 */
export function multipartChecksum(
  alg: ChecksumAlgorithm,
  type: ChecksumType,
  parts: readonly { value: string; size: number }[],
): string {
  if (type === "COMPOSITE") {
    const c = createChecksum(alg);
    for (const p of parts) c.update(Uint8Array.from(atob(p.value), (ch) => ch.charCodeAt(0)));
    return `${c.digestBase64()}-${parts.length}`;
  }
  const shape = CRC_SHAPES[alg];
  if (!shape) throw new Error(`${alg} has no FULL_OBJECT checksum of parts`);
  // Parts are mostly of one size: each shift is worked out once.
  const shifts = new Map<number, bigint>();
  let crc = 0n;
  for (const p of parts) {
    let shift = shifts.get(p.size);
    if (shift === undefined) shifts.set(p.size, shift = shiftOfBytes(shape, p.size));
    crc = multModP(shape, shift, crc) ^ bigintOfBase64(p.value);
  }
  return base64OfBigint(crc, CHECKSUM_BYTES[alg]);
}
