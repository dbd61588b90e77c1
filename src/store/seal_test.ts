import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { StoreError } from "./errors.ts";
import { FORMAT_VERSION, joinParts } from "./format.ts";
import {
  chunkId,
  chunkIdHex,
  COMPRESS_MAX_ENTROPY_BITS,
  openChunk,
  parseChunkIdHex,
  readSealedHeader,
  sampleEntropyBits,
  SEAL_FLAG_ZSTD,
  sealChunk,
  sealChunkParts,
  SEALED_HEADER_BYTES,
  SEALED_OVERHEAD_BYTES,
} from "./seal.ts";

const ID_KEY = new Uint8Array(32).fill(1);
const SEAL_KEY = new Uint8Array(32).fill(2);

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(out.subarray(o, o + 65536));
  return out;
}

function textBytes(n: number): Uint8Array {
  const words = ["alpha", "beta", "gamma", "delta", "vault", "chunk", "error", "info"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += `${i} ${words[(i * 7) % 8]} ${words[(i * 3) % 8]}\n`;
  return new TextEncoder().encode(s.slice(0, n));
}

function isCorrupt(pattern: RegExp) {
  return (e: unknown) => e instanceof StoreError && e.kind === "corrupt" && pattern.test(e.message);
}

Deno.test("chunkId - is HMAC-SHA-256 and deterministic", () => {
  const data = new TextEncoder().encode("abc");
  const id = chunkId(ID_KEY, data);
  assertEquals(id.length, 32);
  assertEquals(id.byteLength, id.buffer.byteLength);
  assertEquals(chunkId(ID_KEY, data), id);
  assert(chunkIdHex(chunkId(new Uint8Array(32), data)) !== chunkIdHex(id));
  // Independent implementation agrees.
  assertEquals(id, hmac(sha256, ID_KEY, data));
  assertEquals(parseChunkIdHex(chunkIdHex(id)), id);
  throws(
    () => parseChunkIdHex("xyz"),
    (e: unknown) => e instanceof StoreError && e.kind === "format",
  );
  throws(() => chunkId(new Uint8Array(16), data), RangeError);
});

Deno.test("sealChunk - round trips random, text, empty and tiny chunks", () => {
  for (const data of [randomBytes(65536), textBytes(65536), new Uint8Array(0), textBytes(10)]) {
    const id = chunkId(ID_KEY, data);
    const sealed = sealChunk(SEAL_KEY, id, data);
    assertEquals(sealed.byteLength, sealed.buffer.byteLength);
    const opened = openChunk(SEAL_KEY, id, sealed);
    assertEquals(opened, data);
    assertEquals(opened.byteLength, opened.buffer.byteLength);
  }
});

Deno.test("sealChunk - compresses text and leaves random data alone", () => {
  const text = textBytes(65536);
  const sealedText = sealChunk(SEAL_KEY, chunkId(ID_KEY, text), text);
  const h = readSealedHeader(sealedText);
  assert(h.compressed);
  assertEquals(h.flags, SEAL_FLAG_ZSTD);
  assertEquals(h.plaintextBytes, 65536);
  assert(sealedText.length < 65536 / 2, `sealed text is ${sealedText.length} bytes`);

  const rnd = randomBytes(65536);
  const sealedRnd = sealChunk(SEAL_KEY, chunkId(ID_KEY, rnd), rnd);
  assertEquals(sealedRnd.length, 65536 + SEALED_OVERHEAD_BYTES);
  assertEquals(readSealedHeader(sealedRnd), {
    version: FORMAT_VERSION,
    flags: 0,
    compressed: false,
    plaintextBytes: 65536,
    payloadBytes: 65536,
  });

  const never = sealChunk(SEAL_KEY, chunkId(ID_KEY, text), text, { compression: "never" });
  assert(!readSealedHeader(never).compressed);
});

Deno.test("sampleEntropyBits - random data near 8 bits, text and zeros far below the compression bound", () => {
  const rnd = randomBytes(8192);
  const bits = sampleEntropyBits([rnd.subarray(0, 4096), rnd.subarray(4096)]);
  assert(bits > 7.9 && bits <= 8, `random: ${bits}`);
  assert(sampleEntropyBits([textBytes(8192)]) < 6);
  assertEquals(sampleEntropyBits([new Uint8Array(8192)]), 0);
  // 7 bits a byte (half the byte values, evenly): below the bound, so such a chunk is compressed.
  const sevenBits = randomBytes(65536).map((b) => b & 0x7f);
  assert(Math.abs(sampleEntropyBits([sevenBits]) - 7) < 0.01);
  assert(sampleEntropyBits([sevenBits]) < COMPRESS_MAX_ENTROPY_BITS);
  assert(readSealedHeader(sealChunk(SEAL_KEY, chunkId(ID_KEY, sevenBits), sevenBits)).compressed);
});

Deno.test("sealChunk - header layout and header-only reads", () => {
  const data = randomBytes(1000);
  const id = chunkId(ID_KEY, data);
  const sealed = sealChunk(SEAL_KEY, id, data, { nonce: new Uint8Array(12).fill(7) });
  assertEquals(new TextDecoder().decode(sealed.subarray(0, 4)), "AMC1");
  assertEquals(sealed[4], FORMAT_VERSION);
  assertEquals([...sealed.subarray(12, 24)], new Array(12).fill(7));
  const prefix = sealed.slice(0, SEALED_HEADER_BYTES);
  assertEquals(readSealedHeader(prefix, sealed.length).plaintextBytes, 1000);
});

Deno.test("sealChunk - uses a fresh nonce each time", () => {
  const data = textBytes(5000);
  const id = chunkId(ID_KEY, data);
  const a = sealChunk(SEAL_KEY, id, data);
  const b = sealChunk(SEAL_KEY, id, data);
  assert(chunkIdHex(a.subarray(12, 24)) !== chunkIdHex(b.subarray(12, 24)));
});

Deno.test("openChunk - every flipped bit fails as corrupt", () => {
  for (const data of [textBytes(3000), randomBytes(300)]) {
    const id = chunkId(ID_KEY, data);
    const sealed = sealChunk(SEAL_KEY, id, data);
    for (let i = 0; i < sealed.length; i++) {
      const copy = sealed.slice();
      copy[i] ^= 1 << (i % 8);
      throws(
        () => openChunk(SEAL_KEY, id, copy),
        (e: unknown) => e instanceof StoreError && (e.kind === "corrupt" || e.kind === "format"),
        `flip at byte ${i}`,
      );
    }
  }
});

Deno.test("openChunk - the plaintext fills an ArrayBuffer of its own, compressed or not", () => {
  const random = randomBytes(5000);
  const id = chunkId(ID_KEY, random);
  const text = textBytes(5000);
  const textId = chunkId(ID_KEY, text);
  const sealedText = sealChunk(SEAL_KEY, textId, text);
  assert((readSealedHeader(sealedText).flags & SEAL_FLAG_ZSTD) !== 0, "the text was compressed");
  for (
    const [plain, want] of [
      [openChunk(SEAL_KEY, id, sealChunk(SEAL_KEY, id, random)), random],
      [openChunk(SEAL_KEY, textId, sealedText), text],
    ] as const
  ) {
    assertEquals(plain, want);
    assertEquals([plain.byteOffset, plain.buffer.byteLength], [0, want.length]);
  }
});

Deno.test("openChunk - wrong id, wrong key and truncation fail as corrupt", () => {
  const data = textBytes(4000);
  const id = chunkId(ID_KEY, data);
  const sealed = sealChunk(SEAL_KEY, id, data);
  const otherId = chunkId(ID_KEY, textBytes(4001));
  const short = chunkIdHex(otherId).slice(0, 12);
  throws(
    () => openChunk(SEAL_KEY, otherId, sealed),
    isCorrupt(new RegExp(`^Cannot open chunk "${short}…": authentication tag mismatch$`)),
  );
  throws(
    () => openChunk(new Uint8Array(32), id, sealed),
    isCorrupt(/authentication tag mismatch$/),
  );
  throws(() => openChunk(SEAL_KEY, id, sealed.subarray(0, 30)), isCorrupt(/too short$/));
  throws(() => openChunk(SEAL_KEY, id, sealed.subarray(0, sealed.length - 1)), isCorrupt(/./));
});

Deno.test("openChunk - unknown version is a format error", () => {
  const data = randomBytes(100);
  const id = chunkId(ID_KEY, data);
  const sealed = sealChunk(SEAL_KEY, id, data);
  sealed[4] = 99;
  throws(
    () => openChunk(SEAL_KEY, id, sealed),
    (e: unknown) =>
      e instanceof StoreError && e.kind === "format" &&
      /unsupported format version 99$/.test(e.message),
  );
});

Deno.test("sealChunkParts - the parts are the sealed record, each in a buffer of its own", () => {
  const nonce = new Uint8Array(12).fill(7);
  for (const data of [randomBytes(65536), textBytes(20_000), new Uint8Array(0)]) {
    const id = chunkId(ID_KEY, data);
    const parts = sealChunkParts(SEAL_KEY, id, data, { nonce });
    assertEquals(joinParts(parts), sealChunk(SEAL_KEY, id, data, { nonce }));
    assertEquals(openChunk(SEAL_KEY, id, joinParts(parts)), data);
    // Kept by the store until written: no part may share memory with another or with the input.
    const buffers = parts.map((p) => p.buffer);
    assertEquals(new Set(buffers).size, parts.length);
    assert(!buffers.includes(data.buffer as ArrayBuffer));
  }
});
