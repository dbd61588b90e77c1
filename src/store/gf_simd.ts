/**
 * The erasure code's inner loop in WebAssembly SIMD: `out = Σ c_j · src_j`
 * over GF(2^8), 16 bytes per step. A product `c · x` is split by nibbles,
 * `c · (x & 15) ^ c · (x >> 4 << 4)`, and each half is one `i8x16.swizzle`
 * lookup in a 16-byte table of the coefficient. The JavaScript table lookup
 * it replaces did one byte per step and took about 30 % of the store Worker
 * at 2+2.
 *
 * The module, assembled from this text (wabt 1.0.39, SIMD enabled):
 *
 * ```wat
 * (module
 *   (memory (export "memory") 1)
 *   ;; dst[i] ^= lo[src[i] & 15] ^ hi[src[i] >> 4] for i < n (n a multiple of 16);
 *   ;; lo and hi are the 32 bytes at $t
 *   (func (export "mulXor") (param $t i32) (param $src i32) (param $dst i32) (param $n i32)
 *     (local $lo v128) (local $hi v128) (local $i i32) (local $x v128) (local $mask v128)
 *     (local.set $lo (v128.load (local.get $t)))
 *     (local.set $hi (v128.load offset=16 (local.get $t)))
 *     (local.set $mask (i8x16.splat (i32.const 15)))
 *     (block $done
 *       (loop $next
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $x (v128.load (i32.add (local.get $src) (local.get $i))))
 *         (v128.store (i32.add (local.get $dst) (local.get $i))
 *           (v128.xor
 *             (v128.load (i32.add (local.get $dst) (local.get $i)))
 *             (v128.xor
 *               (i8x16.swizzle (local.get $lo) (v128.and (local.get $x) (local.get $mask)))
 *               (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $x) (i32.const 4))))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 16)))
 *         (br $next)))))
 * ```
 *
 * Pure: no I/O.
 *
 * @module
 */

const MODULE_HEX =
  "0061736d0100000001080160047f7f7f7f00030201000503010001071302066d656d6f72790200" +
  "066d756c586f7200000a6b016903027b017f027b2000fd00040021042000fd0004102105410ffd0f21080240" +
  "0340200620034f0d01200120066afd0004002107200220066a200220066afd000400200420072008fd4efd0e" +
  "200520074104fd6dfd0efd51fd51fd0b0400200641106a21060c000b0b0b";

/** Bytes of one coefficient's tables: 16 for the low nibble, 16 for the high one. */
const TABLE_BYTES = 32;
/** Where the data starts in the module's memory: after the 256 coefficients' tables. */
const DATA_OFFSET = 256 * TABLE_BYTES;
const PAGE_BYTES = 65536;

/** `outs[r] = Σ rows[r][j] · srcs[j]` over the first `n` bytes, for every row `r`. */
export type Combine = (
  outs: Uint8Array[],
  srcs: Uint8Array[],
  rows: ArrayLike<number>[],
  n: number,
) => void;

/**
 * Instantiates the kernel for a field.
 *
 * @param mul Multiplication in the field.
 * @returns The combining function: the sources are copied into the module's memory once per
 *   call, which grows to the largest call and stays.
 */
export function simdCombine(mul: (a: number, b: number) => number): Combine {
  const bytes = new Uint8Array(MODULE_HEX.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(MODULE_HEX.slice(2 * i, 2 * i + 2), 16);
  }
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const memory = exports.memory as WebAssembly.Memory;
  const mulXor = exports.mulXor as (t: number, src: number, dst: number, n: number) => void;
  const tables = new Uint8Array(memory.buffer, 0, DATA_OFFSET);
  for (let c = 0; c < 256; c++) {
    for (let x = 0; x < 16; x++) {
      tables[c * TABLE_BYTES + x] = mul(c, x);
      tables[c * TABLE_BYTES + 16 + x] = mul(c, x << 4);
    }
  }
  return (outs, srcs, rows, n) => {
    if (outs.length === 0) return;
    // Rounded up to whole steps; the padding of each source is zeroed, so it adds nothing.
    const step = (n + 15) & ~15;
    const need = DATA_OFFSET + (srcs.length + 1) * step;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE_BYTES));
    }
    const mem = new Uint8Array(memory.buffer);
    srcs.forEach((src, j) => {
      const at = DATA_OFFSET + j * step;
      mem.set(src.subarray(0, n), at);
      mem.fill(0, at + n, at + step);
    });
    const dst = DATA_OFFSET + srcs.length * step;
    outs.forEach((out, r) => {
      mem.fill(0, dst, dst + step);
      for (let j = 0; j < srcs.length; j++) {
        const c = rows[r][j];
        if (c !== 0) mulXor(c * TABLE_BYTES, DATA_OFFSET + j * step, dst, step);
      }
      out.set(mem.subarray(dst, dst + n));
    });
  };
}
