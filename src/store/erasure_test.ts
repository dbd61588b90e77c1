import assert from "node:assert/strict";
import { gfInv, gfMul, invertMatrix, ReedSolomon } from "./erasure.ts";

/** A small deterministic generator, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomData(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** Every subset of `0..n-1` with at most `max` members. */
function subsets(n: number, max: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << n; mask++) {
    const s = [...Array(n).keys()].filter((i) => mask & (1 << i));
    if (s.length <= max) out.push(s);
  }
  return out;
}

Deno.test("gf256 - every non-zero element times its inverse is 1, and multiplication commutes", () => {
  for (let a = 1; a < 256; a++) {
    assert.equal(gfMul(a, gfInv(a)), 1);
    for (let b = 0; b < 256; b++) assert.equal(gfMul(a, b), gfMul(b, a));
  }
  assert.throws(() => gfInv(0), RangeError);
});

Deno.test("gf256 - multiplication distributes over addition (XOR)", () => {
  const next = rng(7);
  for (let i = 0; i < 5000; i++) {
    const [a, b, c] = [next() & 0xff, next() & 0xff, next() & 0xff];
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
  }
});

Deno.test("invertMatrix - a random invertible matrix times its inverse is the identity", () => {
  const next = rng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + (trial % 6);
    const a = randomData(next, n * n);
    let inv: Uint8Array;
    try {
      inv = invertMatrix(a, n);
    } catch {
      continue; // singular: fine, try another
    }
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let t = 0; t < n; t++) s ^= gfMul(a[r * n + t], inv[t * n + c]);
        assert.equal(s, r === c ? 1 : 0);
      }
    }
  }
  assert.throws(() => invertMatrix(new Uint8Array([1, 2, 1, 2]), 2), RangeError);
});

Deno.test("ReedSolomon - data shards are the data (systematic) and parity is deterministic", () => {
  const rs = new ReedSolomon(4, 2);
  const data = randomData(rng(3), 1001);
  const shards = rs.split(data);
  assert.equal(shards.length, 6);
  assert.equal(shards[0].length, 251);
  assert.deepEqual(rs.join(shards, data.length), data);
  assert.deepEqual(rs.split(data)[5], shards[5]);
});

for (const [k, m] of [[1, 0], [1, 1], [1, 2], [2, 1], [2, 2], [3, 2], [4, 2], [3, 3], [6, 3]]) {
  Deno.test(`ReedSolomon - ${k}+${m}: every loss of up to ${m} shards rebuilds exactly`, () => {
    const rs = new ReedSolomon(k, m);
    const next = rng(k * 31 + m);
    for (const length of [0, 1, 2, k, 97, 4096 + 3]) {
      const data = randomData(next, length);
      const shards = rs.split(data);
      for (const lost of subsets(k + m, m)) {
        const copy: (Uint8Array | null)[] = shards.map((s) => s.slice());
        for (const i of lost) copy[i] = null;
        rs.reconstruct(copy);
        copy.forEach((s, i) => assert.deepEqual(s, shards[i], `shard ${i}, lost ${lost}`));
        assert.deepEqual(rs.join(copy as Uint8Array[], length), data);
      }
    }
  });
}

Deno.test("ReedSolomon - losing more than m shards is refused, not guessed", () => {
  const rs = new ReedSolomon(2, 2);
  const shards: (Uint8Array | null)[] = rs.split(new Uint8Array(100));
  shards[0] = shards[1] = shards[2] = null;
  assert.throws(() => rs.reconstruct(shards), RangeError);
});

Deno.test("ReedSolomon - rebuilding only wanted shards leaves the others missing", () => {
  const rs = new ReedSolomon(4, 2);
  const data = randomData(rng(5), 10_000);
  const shards = rs.split(data);
  const copy: (Uint8Array | null)[] = shards.map((s) => s.slice());
  copy[1] = copy[5] = null;
  rs.reconstruct(copy, [5]);
  assert.equal(copy[1], null);
  assert.deepEqual(copy[5], shards[5]);
});

Deno.test("ReedSolomon - odd offsets and unaligned shards still rebuild", () => {
  const rs = new ReedSolomon(3, 2);
  const data = randomData(rng(9), 3 * 1001);
  const shards = rs.split(data);
  // Copies at odd byte offsets defeat the word-wise XOR path.
  const unaligned = shards.map((s) => {
    const b = new Uint8Array(s.length + 1);
    b.set(s, 1);
    return b.subarray(1);
  });
  const copy: (Uint8Array | null)[] = [...unaligned];
  copy[0] = copy[2] = null;
  rs.reconstruct(copy);
  assert.deepEqual(rs.join(copy as Uint8Array[], data.length), data);
});

Deno.test("ReedSolomon - bad geometry is refused", () => {
  assert.throws(() => new ReedSolomon(0, 1), RangeError);
  assert.throws(() => new ReedSolomon(200, 57), RangeError);
  assert.throws(() => new ReedSolomon(1.5, 1), RangeError);
});
