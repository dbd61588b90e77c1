import assert from "node:assert/strict";
import { gfMul } from "./erasure.ts";
import { simdCombine } from "./gf_simd.ts";

/** The definition, one byte at a time. */
function combineScalar(srcs: Uint8Array[], coeffs: number[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < srcs.length; j++) out[i] ^= gfMul(coeffs[j], srcs[j][i]);
  }
  return out;
}

Deno.test("simdCombine - every coefficient times every byte value is the field's product", () => {
  const combine = simdCombine(gfMul);
  const src = new Uint8Array(256).map((_, i) => i);
  const out = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    combine([out], [src], [[c]], 256);
    for (let x = 0; x < 256; x++) assert.equal(out[x], gfMul(c, x), `${c} · ${x}`);
  }
});

Deno.test("simdCombine - sums of products match the definition at every length, source and row count", () => {
  const combine = simdCombine(gfMul);
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const n of [1, 15, 16, 17, 31, 100, 4096 + 3, 70_001]) {
    for (const k of [1, 2, 3, 4, 7]) {
      // Lengths of the sources beyond `n` must not count; 0 and 1 coefficients take part.
      const srcs = Array.from({ length: k }, () => new Uint8Array(n + 5).map(next));
      const rows = [0, 1, 2].map((r) =>
        Array.from({ length: k }, (_, j) => (j === r ? 0 : j === r + 1 ? 1 : next()))
      );
      const outs = rows.map(() => new Uint8Array(n).fill(0xaa)); // overwritten, not added to
      combine(outs, srcs, rows, n);
      rows.forEach((row, r) =>
        assert.deepEqual(outs[r], combineScalar(srcs, row, n), `n ${n}, k ${k}, row ${r}`)
      );
    }
  }
});
