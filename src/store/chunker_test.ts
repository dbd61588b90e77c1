import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import {
  CHUNK_AVG_BYTES,
  CHUNK_MAX_BYTES,
  CHUNK_MIN_BYTES,
  Chunker,
  type ChunkerOptions,
} from "./chunker.ts";

const SMALL: ChunkerOptions = { minBytes: 256, avgBytes: 1024, maxBytes: 4096 };

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

function chunkAll(data: Uint8Array, opts: ChunkerOptions, splits: number[] = []): Uint8Array[] {
  const c = new Chunker(opts);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const s of [...splits, data.length]) {
    // Copy each piece so the chunker cannot rely on the caller's buffer.
    out.push(...c.push(data.slice(prev, s)));
    prev = s;
  }
  const tail = c.flush();
  if (tail) out.push(tail);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function hex(c: Uint8Array): string {
  // Cheap fingerprint: length plus a rolling sum is enough to compare chunk lists.
  let h = 0;
  for (let i = 0; i < c.length; i++) h = (Math.imul(h, 31) + c[i]) | 0;
  return `${c.length}:${h}`;
}

Deno.test("Chunker - defaults are ordered and documented sizes", () => {
  assert(CHUNK_MIN_BYTES <= CHUNK_AVG_BYTES && CHUNK_AVG_BYTES <= CHUNK_MAX_BYTES);
  assertEquals(CHUNK_MIN_BYTES, CHUNK_AVG_BYTES / 4);
  assertEquals(CHUNK_MAX_BYTES, CHUNK_AVG_BYTES * 4);
});

Deno.test("Chunker - concatenation of chunks equals the input", () => {
  const data = randomBytes(300_000, 1);
  assertEquals(concat(chunkAll(data, SMALL)), data);
  assertEquals(concat(chunkAll(data, {})), data);
});

Deno.test("Chunker - boundaries do not depend on how input is split", () => {
  const data = randomBytes(200_000, 2);
  const whole = chunkAll(data, SMALL).map(hex);
  const r = prng(3);
  for (let trial = 0; trial < 30; trial++) {
    const splits: number[] = [];
    let pos = 0;
    // Mix of tiny pieces (1-10 bytes) and large ones.
    while (true) {
      pos += r() < 0.3 ? 1 + ((r() * 10) | 0) : (r() * 20_000) | 0;
      if (pos >= data.length) break;
      splits.push(pos);
    }
    assertEquals(chunkAll(data, SMALL, splits).map(hex), whole);
  }
  // One byte at a time.
  const oneByOne = Array.from({ length: 20_000 - 1 }, (_, i) => i + 1);
  assertEquals(
    chunkAll(data.subarray(0, 20_000), SMALL, oneByOne).map(hex),
    chunkAll(data.subarray(0, 20_000), SMALL).map(hex),
  );
});

Deno.test("Chunker - every chunk but the last is within [min, max]", () => {
  for (const seed of [4, 5, 6]) {
    const chunks = chunkAll(randomBytes(400_000, seed), SMALL);
    for (const c of chunks.slice(0, -1)) {
      assert(c.length >= 256 && c.length <= 4096, `chunk of ${c.length} bytes`);
    }
    assert(chunks.at(-1)!.length <= 4096);
  }
  // Zeros never match the mask: every cut is forced at max.
  const zeros = chunkAll(new Uint8Array(20_000), SMALL);
  assertEquals(zeros.map((c) => c.length), [4096, 4096, 4096, 4096, 3616]);
});

Deno.test("Chunker - average chunk size is near the target", () => {
  const chunks = chunkAll(randomBytes(2_000_000, 7), SMALL);
  const mean = 2_000_000 / chunks.length;
  assert(mean > 700 && mean < 1600, `mean ${mean}`);
});

Deno.test("Chunker - chunks within a piece are views of it; bytes carried over are copies", () => {
  const data = randomBytes(100_000, 8);
  const c = new Chunker(SMALL);
  const first = data.slice(0, 1234);
  const early = concat(c.push(first)); // done with its chunks: the piece may be reused
  first.fill(0); // what the chunker kept of it for the next chunk must not change
  const later = c.push(data.slice(1234));
  const tail = c.flush()!;
  assertEquals(concat([early, ...later, tail]), data);
  // The chunk that spans both pieces was assembled from a copy; the next ones are views.
  assert(later.length > 1, "several chunks complete in the second piece");
  assert(later[1].buffer === later[2].buffer, "chunks inside one piece share its buffer");
  assert(later[0].buffer !== later[1].buffer, "the chunk spanning pieces has its own buffer");
});

Deno.test("Chunker - inserting bytes early changes only nearby chunks", () => {
  const data = randomBytes(500_000, 9);
  const edited = concat([data.subarray(0, 5000), new Uint8Array([1, 2, 3]), data.subarray(5000)]);
  const a = chunkAll(data, SMALL).map(hex);
  const b = chunkAll(edited, SMALL).map(hex);
  const setA = new Set(a);
  const changed = b.filter((x) => !setA.has(x)).length;
  assert(a.length > 300);
  assert(changed <= 3, `${changed} of ${b.length} chunks changed`);
});

Deno.test("Chunker - flush resets for reuse and returns null on empty", () => {
  const c = new Chunker(SMALL);
  assertEquals(c.flush(), null);
  assertEquals(c.push(new Uint8Array(0)), []);
  const data = randomBytes(50_000, 10);
  const first = [...c.push(data), c.flush()!].map(hex);
  const second = [...c.push(data), c.flush()!].map(hex);
  assertEquals(first, second);
});

Deno.test("Chunker - rejects invalid sizes", () => {
  assertThrows(() => new Chunker({ minBytes: 10 }), RangeError);
  assertThrows(() => new Chunker({ minBytes: 4096, avgBytes: 1024, maxBytes: 8192 }), RangeError);
  assertThrows(() => new Chunker({ avgBytes: 1.5 }), RangeError);
});
