import { deepStrictEqual as assertEquals, throws } from "node:assert";
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  checksumTypeAllowed,
  createChecksum,
  defaultChecksumType,
  multipartChecksum,
} from "./checksum.ts";

function digest(alg: ChecksumAlgorithm, ...pieces: Uint8Array[]): string {
  const c = createChecksum(alg);
  for (const p of pieces) c.update(p);
  return c.digestBase64();
}

/** A deterministic generator, so a failure names its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("multipartChecksum - FULL_OBJECT equals the CRC of the whole, for any split", () => {
  for (const alg of ["CRC32", "CRC32C", "CRC64NVME"] as const) {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed);
      const data = crypto.getRandomValues(new Uint8Array(Math.floor(rand() * 5000)));
      const cuts = Array.from(
        { length: Math.floor(rand() * 6) },
        () => Math.floor(rand() * (data.length + 1)),
      ).sort((a, b) => a - b);
      const bounds = [0, ...cuts, data.length];
      const parts = bounds.slice(1).map((end, i) => {
        const piece = data.subarray(bounds[i], end); // zero-length parts too
        return { value: digest(alg, piece), size: piece.length };
      });
      assertEquals(
        multipartChecksum(alg, "FULL_OBJECT", parts),
        digest(alg, data),
        `${alg} seed ${seed}`,
      );
    }
  }
});

Deno.test("multipartChecksum - large parts of one size combine like the whole", () => {
  const part = new Uint8Array(5 * 1024 * 1024).fill(7);
  const last = new Uint8Array(12345).fill(9);
  for (const alg of ["CRC32", "CRC32C", "CRC64NVME"] as const) {
    const parts = [
      { value: digest(alg, part), size: part.length },
      { value: digest(alg, part), size: part.length },
      { value: digest(alg, last), size: last.length },
    ];
    assertEquals(multipartChecksum(alg, "FULL_OBJECT", parts), digest(alg, part, part, last), alg);
  }
});

Deno.test("multipartChecksum - COMPOSITE is the digest of the parts' digests, then -N", () => {
  const a = new TextEncoder().encode("first part");
  const b = new TextEncoder().encode("second");
  for (const alg of CHECKSUM_ALGORITHMS) {
    const da = digest(alg, a);
    const db = digest(alg, b);
    const raw = (v: string) => Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
    assertEquals(
      multipartChecksum(alg, "COMPOSITE", [{ value: da, size: a.length }, {
        value: db,
        size: b.length,
      }]),
      `${digest(alg, raw(da), raw(db))}-2`,
      alg,
    );
  }
  throws(() => multipartChecksum("SHA256", "FULL_OBJECT", [{ value: "", size: 0 }]));
});

Deno.test("checksum types - S3's pairs of algorithm and type", () => {
  assertEquals(CHECKSUM_ALGORITHMS.map(defaultChecksumType), [
    "COMPOSITE",
    "COMPOSITE",
    "FULL_OBJECT",
    "COMPOSITE",
    "COMPOSITE",
  ]);
  assertEquals(CHECKSUM_ALGORITHMS.map((a) => checksumTypeAllowed(a, "FULL_OBJECT")), [
    true,
    true,
    true,
    false,
    false,
  ]);
  assertEquals(CHECKSUM_ALGORITHMS.map((a) => checksumTypeAllowed(a, "COMPOSITE")), [
    true,
    true,
    false,
    true,
    true,
  ]);
});
