/**
 * This machine's own limits, measured in the same run as the vault: fsync'd
 * writes, hashing, the AEAD and the chunker.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import zlib from "node:zlib";
import { CHUNK_AVG_BYTES, Chunker } from "../../src/store/chunker.ts";
import { log, MB, MIB } from "./common.ts";

// ---------------------------------------------------------- machine limits

export interface Limits {
  fsyncWriteMBps: number;
  fsync4kOpsPerSec: number;
  sha256MBps: number;
  aeadSealMBps: number;
  aeadOpenMBps: number;
  md5MBps: number;
  crc32MBps: number;
  chunkerMBps: number;
}

async function fsyncWriteRate(dir: string, total: number): Promise<number> {
  const path = `${dir}/fsync-probe`;
  const fh = await open(path, "w");
  const block = randomBytes(MIB);
  const BATCH_BLOCKS = 4; // a 4 MiB group commit, then fdatasync, as segments.ts does
  const t0 = performance.now();
  let pos = 0;
  try {
    for (let i = 0; i < total / MIB; i++) {
      let w = 0;
      while (w < MIB) w += (await fh.write(block, w, MIB - w, pos + w)).bytesWritten;
      pos += MIB;
      if ((i + 1) % BATCH_BLOCKS === 0) await fh.datasync();
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  const secs = (performance.now() - t0) / 1000;
  await Deno.remove(path);
  return total / MB / secs;
}

async function fsyncSmallRate(dir: string, seconds: number): Promise<number> {
  const path = `${dir}/fsync-small-probe`;
  const fh = await open(path, "w");
  const block = randomBytes(4096);
  const t0 = performance.now();
  let n = 0;
  try {
    while (performance.now() - t0 < seconds * 1000) {
      await fh.write(block, 0, block.length, n * block.length);
      await fh.datasync();
      n++;
    }
  } finally {
    await fh.close();
  }
  const secs = (performance.now() - t0) / 1000;
  await Deno.remove(path);
  return n / secs;
}

function rate(total: number, piece: number, fn: (buf: Uint8Array, i: number) => void): number {
  const buf = randomBytes(piece);
  fn(buf, -1); // warm up
  const t0 = performance.now();
  const n = Math.max(1, Math.round(total / piece));
  for (let i = 0; i < n; i++) fn(buf, i);
  return (n * piece) / MB / ((performance.now() - t0) / 1000);
}

function streamingRate(total: number, alg: string): number {
  const buf = randomBytes(MIB);
  createHash(alg).update(buf).digest();
  const t0 = performance.now();
  const h = createHash(alg);
  for (let i = 0; i < total / MIB; i++) h.update(buf);
  h.digest();
  return total / MB / ((performance.now() - t0) / 1000);
}

export async function measureLimits(
  dir: string,
  plan: { limitBytes: number; smallFsyncSeconds: number },
): Promise<Limits> {
  const total = plan.limitBytes;
  log(`limits: fsync'd sequential write of ${total / MIB} MiB (1 MiB writes, datasync per 4 MiB)`);
  const fsyncWriteMBps = await fsyncWriteRate(dir, total);
  log(`limits: serial 4 KiB write + datasync for ${plan.smallFsyncSeconds} s`);
  const fsync4kOpsPerSec = await fsyncSmallRate(dir, plan.smallFsyncSeconds);
  log("limits: SHA-256, MD5, CRC32, ChaCha20-Poly1305, FastCDC chunker (one core each)");
  const sha256MBps = streamingRate(total, "sha256");
  const md5MBps = streamingRate(total, "md5");
  let crc = 0;
  const crc32MBps = rate(total, MIB, (b) => {
    crc = zlib.crc32(b, crc);
  });
  const key = randomBytes(32);
  const aad = randomBytes(56);
  // Seal per 64 KiB chunk with a fresh cipher, as the store seals chunks.
  const sealed: Uint8Array[] = [];
  const aeadSealMBps = rate(total, CHUNK_AVG_BYTES, (b, i) => {
    const nonce = randomBytes(12);
    const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: b.length });
    const ct = c.update(b);
    c.final();
    const tag = c.getAuthTag();
    if (i < 0) sealed.push(nonce, ct, tag);
  });
  const [nonce, ct, tag] = sealed;
  const aeadOpenMBps = rate(total, CHUNK_AVG_BYTES, () => {
    const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: ct.length });
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  });
  const chunker = new Chunker();
  const chunkerMBps = rate(total, MIB, (b) => {
    chunker.push(b);
  });
  return {
    fsyncWriteMBps,
    fsync4kOpsPerSec,
    sha256MBps,
    aeadSealMBps,
    aeadOpenMBps,
    md5MBps,
    crc32MBps,
    chunkerMBps,
  };
}
