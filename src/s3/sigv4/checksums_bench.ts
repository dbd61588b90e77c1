import { CHECKSUM_ALGORITHMS, createChecksum } from "./checksums.ts";

const SIZE_BYTES = 16 << 20;
const PIECE_BYTES = 1 << 20;
const data = new Uint8Array(SIZE_BYTES);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;

for (const alg of CHECKSUM_ALGORITHMS) {
  Deno.bench(`${alg} 16 MiB in 1 MiB pieces`, { group: "checksums" }, () => {
    const c = createChecksum(alg);
    for (let o = 0; o < data.length; o += PIECE_BYTES) c.update(data.subarray(o, o + PIECE_BYTES));
    c.digestBase64();
  });
}
