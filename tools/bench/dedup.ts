/**
 * Dedup benchmark: picks the average chunk size by measurement.
 *
 * Generates a deterministic synthetic tree (mixed text-ish and random files,
 * 1 KiB – 2 MiB), then ten nightly ustar archives of it where each night 5 %
 * of the files change (appends, edits in the middle, a few additions and
 * removals). Every archive is streamed through a {@linkcode Chunker} per
 * candidate average size, and the report shows stored unique bytes over one
 * archive's bytes.
 *
 * Run: `deno run tools/bench/dedup.ts`
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Chunker } from "../../src/store/chunker.ts";

/** Average chunk sizes the CLI compares. */
export const DEDUP_AVG_SIZES_BYTES: readonly number[] = [
  16 * 1024,
  32 * 1024,
  64 * 1024,
  128 * 1024,
  256 * 1024,
  1024 * 1024,
];

/** Options for a dedup run; defaults describe the nightly-tar scenario. */
export interface DedupOptions {
  /**
   * Files in the initial tree. The ratio barely depends on it (1,000 files give
   * the same ratios as 2,000 within 0.01); 1,500 keeps the CLI under a minute.
   * @default {1500}
   */
  files?: number;
  /** Archives (nights), including the first. @default {10} */
  nights?: number;
  /** Fraction of files changed per night. @default {0.05} */
  changeFraction?: number;
  /** PRNG seed. @default {1} */
  seed?: number;
}

/** The outcome of a dedup run for one average chunk size. */
export interface DedupResult {
  /** Target average chunk size. */
  avgBytes: number;
  /** Stored unique bytes divided by the first archive's bytes. */
  ratio: number;
  /** Sum of the sizes of distinct chunks over all archives. */
  storedBytes: number;
  /** Bytes of the first archive. */
  archiveBytes: number;
  /** Bytes of all archives together (what a non-deduplicating store keeps). */
  totalBytes: number;
  /** Distinct chunks stored. */
  uniqueChunks: number;
  /** Mean size of the distinct chunks. */
  meanChunkBytes: number;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which " +
  "but have an they you were her she there been one all we their has would when if so no will " +
  "error warning info debug request response user session config value key timeout retry " +
  "backup vault chunk segment index record version bucket object lock retention policy"
).split(" ");

/** Fills `n` bytes of either text-ish (compressible) or random content. */
function makeContent(rand: () => number, n: number, text: boolean): Uint8Array {
  const out = new Uint8Array(n);
  if (!text) {
    // xorshift32 words: far faster than a PRNG call per byte.
    const words = new Uint32Array(out.buffer, 0, n >>> 2);
    let x = ((rand() * 0xffffffff) | 0) || 1;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    for (let i = words.length * 4; i < n; i++) out[i] = (rand() * 256) | 0;
    return out;
  }
  const enc = new TextEncoder();
  let pos = 0;
  while (pos < n) {
    let line = `${(rand() * 1e9) | 0} `;
    const nWords = 4 + ((rand() * 12) | 0);
    for (let w = 0; w < nWords; w++) line += WORDS[(rand() * WORDS.length) | 0] + " ";
    line += "\n";
    const r = enc.encodeInto(line, out.subarray(pos));
    pos += r.written;
    if (r.read < line.length) break;
  }
  return out;
}

interface FileEntry {
  data: Uint8Array;
  text: boolean;
  mtime: number;
}

/** Log-uniform size between 1 KiB and 2 MiB. */
function fileSize(rand: () => number): number {
  return Math.round(1024 * Math.pow(2048, rand()));
}

function makeTree(rand: () => number, files: number): Map<string, FileEntry> {
  const tree = new Map<string, FileEntry>();
  for (let i = 0; i < files; i++) addFile(tree, rand, 1_700_000_000);
  return tree;
}

function addFile(tree: Map<string, FileEntry>, rand: () => number, mtime: number): void {
  const text = rand() < 0.5;
  const dir = `home/user/project${(rand() * 40) | 0}/${text ? "docs" : "data"}`;
  const name = `${dir}/file${(rand() * 1e9) | 0}.${text ? "log" : "bin"}`;
  tree.set(name, { data: makeContent(rand, fileSize(rand), text), text, mtime });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Changes `fraction` of the files: appends, middle edits, a few adds/removes. */
function mutate(
  tree: Map<string, FileEntry>,
  rand: () => number,
  fraction: number,
  mtime: number,
): void {
  const names = [...tree.keys()];
  const count = Math.max(1, Math.round(names.length * fraction));
  for (let k = 0; k < count; k++) {
    const roll = rand();
    if (roll < 0.05) {
      addFile(tree, rand, mtime);
      continue;
    }
    const name = names[(rand() * names.length) | 0];
    const f = tree.get(name);
    if (!f) continue;
    if (roll < 0.1) {
      tree.delete(name);
    } else if (roll < 0.55) {
      // Append, like a log or a growing database file.
      const n = 256 + ((rand() * Math.min(64 * 1024, f.data.length / 4)) | 0);
      tree.set(name, { ...f, data: concat(f.data, makeContent(rand, n, f.text)), mtime });
    } else {
      const at = (rand() * f.data.length) | 0;
      const data = f.data.slice();
      if (rand() < 0.7) {
        // Overwrite a region in place.
        const n = Math.min(data.length - at, 16 + ((rand() * 4096) | 0));
        data.set(makeContent(rand, n, f.text), at);
        tree.set(name, { ...f, data, mtime });
      } else {
        // Insert a few bytes (shifts everything after them).
        const ins = makeContent(rand, 1 + ((rand() * 100) | 0), f.text);
        const next = new Uint8Array(data.length + ins.length);
        next.set(data.subarray(0, at));
        next.set(ins, at);
        next.set(data.subarray(at), at + ins.length);
        tree.set(name, { ...f, data: next, mtime });
      }
    }
  }
}

const TAR_BLOCK_BYTES = 512;

function writeField(h: Uint8Array, off: number, len: number, value: string): void {
  for (let i = 0; i < Math.min(len, value.length); i++) h[off + i] = value.charCodeAt(i);
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar header block for a regular file. */
function tarHeader(name: string, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(TAR_BLOCK_BYTES);
  let prefix = "";
  let base = name;
  if (name.length > 100) {
    const cut = name.lastIndexOf("/", 155);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  writeField(h, 0, 100, base);
  writeField(h, 100, 8, octal(0o644, 8));
  writeField(h, 108, 8, octal(1000, 8));
  writeField(h, 116, 8, octal(1000, 8));
  writeField(h, 124, 12, octal(size, 12));
  writeField(h, 136, 12, octal(mtime, 12));
  writeField(h, 148, 8, "        ");
  h[156] = 0x30; // '0' regular file
  writeField(h, 257, 6, "ustar\0");
  writeField(h, 263, 2, "00");
  writeField(h, 265, 32, "user");
  writeField(h, 297, 32, "user");
  writeField(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) sum += h[i];
  writeField(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** Yields the pieces of a ustar archive of the tree, in path order. */
function* tarPieces(tree: Map<string, FileEntry>): Generator<Uint8Array> {
  const zeros = new Uint8Array(TAR_BLOCK_BYTES * 2);
  for (const name of [...tree.keys()].sort()) {
    const f = tree.get(name)!;
    yield tarHeader(name, f.data.length, f.mtime);
    yield f.data;
    const pad = (TAR_BLOCK_BYTES - (f.data.length % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
    if (pad) yield zeros.subarray(0, pad);
  }
  yield zeros;
}

/**
 * Generates the nightly archives of the scenario, one at a time: the same tree,
 * changes and byte streams that {@linkcode measureDedupMany} chunks, so a vault
 * fed these archives can be compared with the in-process prediction.
 *
 * @example Usage
 * ```ts ignore
 * import { nightlyArchives } from "./dedup.ts";
 * for (const pieces of nightlyArchives({ files: 300 })) console.log(pieces.length);
 * ```
 *
 * @param opts Scenario options.
 * @returns A generator of archives, each as its pieces in order; consume each before asking
 *   for the next (the tree changes in between).
 */
export function* nightlyArchives(opts: DedupOptions = {}): Generator<Uint8Array[]> {
  const rand = prng(opts.seed ?? 1);
  const tree = makeTree(rand, opts.files ?? 1500);
  const nights = opts.nights ?? 10;
  for (let night = 0; night < nights; night++) {
    if (night > 0) mutate(tree, rand, opts.changeFraction ?? 0.05, 1_700_000_000 + night * 86400);
    yield [...tarPieces(tree)];
  }
}

/**
 * Measures dedup for several average chunk sizes in one pass over the archives.
 *
 * @param avgSizes Average chunk sizes to compare (min = avg/4, max = avg*4).
 * @param opts Scenario options.
 * @returns One result per average size, in the same order.
 */
export function measureDedupMany(
  avgSizes: readonly number[],
  opts: DedupOptions = {},
): DedupResult[] {
  const rand = prng(opts.seed ?? 1);
  const tree = makeTree(rand, opts.files ?? 1500);
  const nights = opts.nights ?? 10;
  const states = avgSizes.map((avg) => ({
    avg,
    chunker: new Chunker({ minBytes: avg / 4, avgBytes: avg, maxBytes: avg * 4 }),
    seen: new Set<string>(),
    stored: 0,
  }));
  let archiveBytes = 0;
  let totalBytes = 0;
  for (let night = 0; night < nights; night++) {
    if (night > 0) mutate(tree, rand, opts.changeFraction ?? 0.05, 1_700_000_000 + night * 86400);
    let bytes = 0;
    const record = (s: (typeof states)[number], chunk: Uint8Array | null) => {
      if (!chunk) return;
      const key = createHash("sha256").update(chunk).digest("base64");
      if (!s.seen.has(key)) {
        s.seen.add(key);
        s.stored += chunk.length;
      }
    };
    for (const piece of tarPieces(tree)) {
      bytes += piece.length;
      for (const s of states) for (const c of s.chunker.push(piece)) record(s, c);
    }
    for (const s of states) record(s, s.chunker.flush());
    if (night === 0) archiveBytes = bytes;
    totalBytes += bytes;
  }
  return states.map((s) => ({
    avgBytes: s.avg,
    ratio: s.stored / archiveBytes,
    storedBytes: s.stored,
    archiveBytes,
    totalBytes,
    uniqueChunks: s.seen.size,
    meanChunkBytes: s.stored / s.seen.size,
  }));
}

/**
 * Measures dedup for one average chunk size.
 *
 * @example Usage
 * ```ts ignore
 * import { measureDedup } from "./dedup.ts";
 * const { ratio } = measureDedup(64 * 1024);
 * ```
 *
 * @param avgBytes Average chunk size (min = avg/4, max = avg*4).
 * @param opts Scenario options.
 * @returns The stored/one-archive ratio and details.
 */
export function measureDedup(avgBytes: number, opts: DedupOptions = {}): DedupResult {
  return measureDedupMany([avgBytes], opts)[0];
}

function formatSize(n: number): string {
  return n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : `${n / 1024} KiB`;
}

if (import.meta.main) {
  const t0 = performance.now();
  const results = measureDedupMany(DEDUP_AVG_SIZES_BYTES);
  const r0 = results[0];
  console.log(
    `one archive ${(r0.archiveBytes / 1e6).toFixed(1)} MB, ten archives ` +
      `${(r0.totalBytes / 1e6).toFixed(1)} MB`,
  );
  console.log("| avg | stored / one archive | unique chunks | mean chunk |");
  console.log("|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${formatSize(r.avgBytes)} | ${r.ratio.toFixed(3)}x | ${r.uniqueChunks} | ` +
        `${(r.meanChunkBytes / 1024).toFixed(1)} KiB |`,
    );
  }
  console.log(`took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
