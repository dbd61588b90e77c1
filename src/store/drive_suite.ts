/**
 * The drive conformance suite: what a {@linkcode SegmentStore} promises over
 * any {@linkcode DriveIO} — records read back byte-exact, concurrent appends
 * share fsyncs, a reopened store (even one that lost its index) finds every
 * record, deleted chunks stay deleted across a rescan, compaction keeps the
 * live records and frees the dead segments. `drive_suite_test.ts` runs it
 * over the real drive and over a {@linkcode FaultyDrive} with no fault armed;
 * `drive_faults_test.ts` then arms each fault and checks the store's contract.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DriveIO } from "./drive_io.ts";
import { StoreError } from "./errors.ts";
import { decodeShard } from "./format.ts";
import { type SegmentOptions, SegmentStore } from "./segments.ts";

/** The vault id every suite store is opened with. */
export const SUITE_VAULT_ID: Uint8Array = new Uint8Array(16).fill(7);

/** A chunk id made of one repeated byte. */
export function chunkIdOf(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

/** The bytes the suite stores under chunk `n`: `size` bytes, different for every `n`. */
export function payloadOf(n: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (n * 31 + i * 7) & 0xff;
  return out;
}

/**
 * Opens a segment store in `dir` over `io`, with small segments.
 *
 * @param dir The drive directory.
 * @param io The drive's file operations.
 * @param opts Segment sizes to override.
 */
export function openSuiteStore(
  dir: string,
  io: DriveIO,
  opts: Pick<SegmentOptions, "segmentMaxBytes" | "retireDelayMs" | "compactBytesPerSecond"> = {},
): Promise<SegmentStore> {
  return SegmentStore.open(dir, {
    vaultId: SUITE_VAULT_ID,
    plainLength: (p) => p.length,
    retireDelayMs: opts.retireDelayMs ?? 0,
    segmentMaxBytes: opts.segmentMaxBytes,
    compactBytesPerSecond: opts.compactBytesPerSecond,
    io,
  });
}

/**
 * Appends chunk `n` as a whole (1+0) shard of `size` bytes.
 *
 * @returns The durability promise.
 */
export function appendChunk(store: SegmentStore, n: number, size: number): Promise<void> {
  const header = { shard: 0, k: 1, m: 0, sealedBytes: size, sealedCrc: 0, plainBytes: size };
  return store.appendShard(chunkIdOf(n), header, payloadOf(n, size)).durable;
}

/**
 * Asserts that chunks `ns` read back byte-exact, each `size` bytes.
 *
 * @param sizes The size of each chunk, by number.
 */
export async function assertChunks(
  store: SegmentStore,
  sizes: Map<number, number>,
): Promise<void> {
  const ns = [...sizes.keys()];
  const got = await store.readEach(ns.map(chunkIdOf));
  ns.forEach((n, i) => {
    const payload = got[i];
    assert.ok(payload instanceof Uint8Array, `chunk ${n}: ${payload}`);
    assert.deepEqual(decodeShard(payload).bytes, payloadOf(n, sizes.get(n)!), `chunk ${n}`);
  });
}

/** Asserts that chunks `ns` are not stored: reading each fails as `notFound`. */
export async function assertAbsent(store: SegmentStore, ns: number[]): Promise<void> {
  const got = await store.readEach(ns.map(chunkIdOf));
  ns.forEach((n, i) => {
    const r = got[i];
    assert.ok(r instanceof StoreError && r.kind === "notFound", `chunk ${n} is stored: ${r}`);
  });
}

/**
 * Reopens the store in `dir` (a restart), asserts which chunks it holds,
 * and closes it again.
 *
 * @param io The drive after the restart.
 * @param expect Chunks that read back byte-exact (number → size), and chunks that are not stored.
 */
export async function assertAfterReopen(
  dir: string,
  io: DriveIO,
  expect: {
    present: Map<number, number>;
    absent?: number[];
    segmentMaxBytes?: number;
  },
): Promise<void> {
  const store = await openSuiteStore(dir, io, { segmentMaxBytes: expect.segmentMaxBytes });
  try {
    await assertChunks(store, expect.present);
    await assertAbsent(store, expect.absent ?? []);
  } finally {
    await store.close();
  }
}

/** Deletes a drive's chunk index, so the next open rebuilds it from the segments. */
export async function dropIndex(dir: string): Promise<void> {
  for (const f of ["chunks.db", "chunks.db-wal", "chunks.db-shm"]) {
    await Deno.remove(`${dir}/${f}`).catch(() => undefined);
  }
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "amber-drive-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Segment files in a drive directory, in order. */
function segmentFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".seg")).sort();
}

/**
 * Registers the conformance tests of a segment store over drives made by
 * `makeDrive` (called once per open, as a restarted process gets a new one).
 *
 * @param name Names the drive in the test names.
 * @param makeDrive Makes the drive's file operations.
 */
export function runDriveSuite(name: string, makeDrive: () => DriveIO): void {
  const test = (what: string, fn: (dir: string) => Promise<void>) =>
    Deno.test(`Drive suite (${name}) - ${what}`, () => withTempDir(fn));

  test("appended records read back byte-exact; an unknown id is not found", async (dir) => {
    const store = await openSuiteStore(dir, makeDrive());
    try {
      const sizes = new Map([[1, 0], [2, 1], [3, 4096], [4, 300_000]]);
      for (const [n, size] of sizes) await appendChunk(store, n, size);
      await assertChunks(store, sizes);
      await assertAbsent(store, [99]);
      assert.deepEqual(store.locate(chunkIdOf(3)), { shard: 0, k: 1, m: 0, crc: 0 });
      assert.equal(store.stats().chunks, 4);
    } finally {
      await store.close();
    }
  });

  test("concurrent appends are group-committed and all read back", async (dir) => {
    const store = await openSuiteStore(dir, makeDrive());
    try {
      const sizes = new Map([...Array(200).keys()].map((i) => [i + 1, 500 + i * 13]));
      await Promise.all([...sizes].map(([n, size]) => appendChunk(store, n, size)));
      await assertChunks(store, sizes);
      const stats = store.stats();
      assert.equal(stats.chunks, 200);
      // Record framing is small: the segment holds the payloads and little else.
      const payload = [...sizes.values()].reduce((a, b) => a + b, 0);
      assert.ok(stats.diskBytes > payload && stats.diskBytes < payload * 1.5, `${stats.diskBytes}`);
    } finally {
      await store.close();
    }
  });

  test("a reopened store reads every record, and rebuilds a lost index from the segments", async (dir) => {
    const sizes = new Map([...Array(40).keys()].map((i) => [i + 1, 3000 + i]));
    let store = await openSuiteStore(dir, makeDrive(), { segmentMaxBytes: 64 * 1024 });
    await Promise.all([...sizes].map(([n, size]) => appendChunk(store, n, size)));
    await store.close();
    store = await openSuiteStore(dir, makeDrive(), { segmentMaxBytes: 64 * 1024 });
    await assertChunks(store, sizes);
    await appendChunk(store, 41, 100);
    sizes.set(41, 100);
    await store.close();
    // Without its index, the rescan of the newest segments finds the records (all fit in two).
    await dropIndex(dir);
    assert.ok(segmentFiles(dir).length <= 2, `${segmentFiles(dir)}`);
    await assertAfterReopen(dir, makeDrive(), { present: sizes, segmentMaxBytes: 64 * 1024 });
  });

  test("deleted chunks stay deleted across a reopen that rescans the segments", async (dir) => {
    const store = await openSuiteStore(dir, makeDrive());
    const sizes = new Map([[1, 1000], [2, 2000], [3, 3000]]);
    for (const [n, size] of sizes) await appendChunk(store, n, size);
    store.touch(chunkIdOf(3));
    store.touch(chunkIdOf(2));
    // After both touches, whichever millisecond each fell in: both are older than the cutoff.
    const cutoff = Math.max(store.touchedAt(chunkIdOf(3))!, store.touchedAt(chunkIdOf(2))!) + 1;
    const r = await store.deleteUntouched([chunkIdOf(1), chunkIdOf(2)], cutoff);
    assert.equal(r.chunks, 2);
    await assertAbsent(store, [1, 2]);
    await store.close();
    await dropIndex(dir);
    await assertAfterReopen(dir, makeDrive(), { present: new Map([[3, 3000]]), absent: [1, 2] });
  });

  test("compaction moves live records out of dead segments and removes the files", async (dir) => {
    const segmentMaxBytes = 32 * 1024;
    const store = await openSuiteStore(dir, makeDrive(), { segmentMaxBytes });
    // 8 KiB records: four to a segment, over about ten segments.
    const all = [...Array(40).keys()].map((i) => i + 1);
    for (const n of all) await appendChunk(store, n, 8000);
    const before = segmentFiles(dir).length;
    assert.ok(before >= 8, `${before} segments`);
    const doomed = all.filter((n) => n % 4 !== 0 && n <= 28);
    await store.deleteUntouched(doomed.map(chunkIdOf), Date.now() + 1);
    const r = await store.compact();
    assert.ok(r.segments > 0, "some segments were compacted");
    const kept = new Map(all.filter((n) => !doomed.includes(n)).map((n) => [n, 8000]));
    await assertChunks(store, kept);
    // Retired files go after the (zero) retire delay.
    for (let i = 0; i < 100 && segmentFiles(dir).length >= before; i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(segmentFiles(dir).length < before, `${segmentFiles(dir)}`);
    await store.close();
    await assertAfterReopen(dir, makeDrive(), { present: kept, absent: doomed, segmentMaxBytes });
  });
}
