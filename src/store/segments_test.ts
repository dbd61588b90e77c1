import assert from "node:assert/strict";
import { StoreError } from "./errors.ts";
import { decodeShard } from "./format.ts";
import { SegmentStore } from "./segments.ts";
import {
  appendChunk,
  assertChunks,
  chunkIdOf,
  openSuiteStore,
  payloadOf,
  withTempDir,
} from "./drive_suite.ts";
import { type DriveIO, realDrive } from "./drive_io.ts";

const KIB = 1024;
const vaultId = new Uint8Array(16).fill(7);
const opts = { vaultId, plainLength: (p: Uint8Array) => p.length };
const id = (n: number) => new Uint8Array(32).fill(n);

/**
 * Appends, in a child process limited to `limitBytes` per file (RLIMIT_FSIZE
 * with SIGXFSZ ignored, so a write past it fails with EFBIG as a full disk
 * fails with ENOSPC): 8 KiB records 1–3, a 512 KiB record 4 that cannot
 * fit, then 8 KiB record 5. Prints what happened as JSON.
 */
async function appendUnderLimit(dir: string, limitBytes: number) {
  const child = `
    import { SegmentStore } from ${JSON.stringify(import.meta.resolve("./segments.ts"))};
    const store = await SegmentStore.open(${JSON.stringify(dir)}, {
      vaultId: new Uint8Array(16).fill(7), plainLength: (p) => p.length });
    const seg = ${JSON.stringify(dir)} + "/00000001.seg";
    const header = (size) => ({ shard: 0, k: 1, m: 0, sealedBytes: size, sealedCrc: 0, plainBytes: size });
    const append = (n, size) =>
      store.appendShard(new Uint8Array(32).fill(n), header(size), new Uint8Array(size).fill(n)).durable;
    for (const n of [1, 2, 3]) await append(n, 8192);
    const before = Deno.statSync(seg).size;
    const failure = await append(4, 512 * 1024).then(() => null, (e) => ({ kind: e.kind, message: e.message }));
    const after = Deno.statSync(seg).size;
    await append(5, 8192);
    await store.close();
    console.log(JSON.stringify({ before, failure, after, end: Deno.statSync(seg).size }));
  `;
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `trap '' XFSZ; exec prlimit --fsize=${limitBytes} "$@"`,
      "sh",
      Deno.execPath(),
      "eval",
      child,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  return JSON.parse(text.decode(out.stdout)) as {
    before: number;
    failure: { kind: string; message: string } | null;
    after: number;
    end: number;
  };
}

Deno.test("SegmentStore - a write that finds no room fails as `full` and leaves no torn record; later writes that fit go on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Create the index and first segment without a limit, so the child only appends.
    await (await SegmentStore.open(dir, opts)).close();
    const r = await appendUnderLimit(dir, 256 * KIB);
    assert.equal(r.failure?.kind, "full", JSON.stringify(r.failure));
    assert.match(r.failure!.message, /no room left/);
    assert.equal(r.after, r.before, "the failed record's bytes were cut off the segment");
    assert.ok(r.end > r.after, "the next record went in");
    // Reopened (rescanning the segment), records 1–3 and 5 read back and 4 is not there.
    const store = await SegmentStore.open(dir, opts);
    try {
      const got = await store.readEach([id(1), id(2), id(3), id(5), id(4)]);
      for (const [i, n] of [1, 2, 3, 5].entries()) {
        const payload = got[i];
        assert.ok(payload instanceof Uint8Array, `record ${n}: ${payload}`);
        assert.deepEqual(decodeShard(payload).bytes, new Uint8Array(8192).fill(n), `record ${n}`);
      }
      assert.ok(got[4] instanceof StoreError, "record 4 is not there");
      assert.equal(Deno.statSync(`${dir}/00000001.seg`).size, r.end, "recovery found no torn tail");
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SegmentStore - compaction moves live records at its configured pace and keeps them", async () => {
  await withTempDir(async (dir) => {
    const segmentMaxBytes = 32 * KIB;
    const bytesPerSecond = 64 * KIB;
    const store = await openSuiteStore(dir, realDrive, {
      segmentMaxBytes,
      compactBytesPerSecond: bytesPerSecond,
    });
    const all = [...Array(40).keys()].map((i) => i + 1);
    for (const n of all) await appendChunk(store, n, 8000);
    // Three of every four records die, in the old segments only.
    const doomed = all.filter((n) => n % 4 !== 0 && n <= 28);
    await store.deleteUntouched(doomed.map(chunkIdOf), Date.now() + 1);
    const liveMoved = all.filter((n) => n % 4 === 0 && n <= 28).length * 8000;
    const started = performance.now();
    const r = await store.compact();
    const seconds = (performance.now() - started) / 1000;
    assert.ok(r.segments > 0, "some segments were compacted");
    // It cannot be faster than its pace (it may move a little less than every survivor).
    assert.ok(
      seconds >= (liveMoved / bytesPerSecond) * 0.5,
      `${liveMoved} live bytes moved in ${seconds.toFixed(2)} s at ${bytesPerSecond} B/s`,
    );
    await assertChunks(
      store,
      new Map(all.filter((n) => !doomed.includes(n)).map((n) => [n, 8000])),
    );
    await store.close();
  });
});

/**
 * Segment files this process holds open, by name; `(deleted)` marks removed
 * ones. Listed by `ls`: Deno grants /proc/self only to --allow-all.
 */
async function openSegmentFiles(dir: string): Promise<string[]> {
  const out = await new Deno.Command("ls", { args: ["-l", `/proc/${Deno.pid}/fd`] }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((line) => line.split(" -> ")[1] ?? "")
    .filter((target) => target.startsWith(dir) && target.includes(".seg"));
}

Deno.test("SegmentStore - read handles are kept for reuse, never on a removed segment, and all go on close", async () => {
  await withTempDir(async (dir) => {
    const store = await openSuiteStore(dir, realDrive, { segmentMaxBytes: 32 * KIB });
    const all = [...Array(40).keys()].map((i) => i + 1);
    for (const n of all) await appendChunk(store, n, 8000);
    const sizes = new Map(all.map((n) => [n, 8000]));
    await assertChunks(store, sizes);
    const held = (await openSegmentFiles(dir)).length;
    // The active segment's writer plus kept readers: more than the writer alone.
    assert.ok(held > 1, `${held} segment handles open after reads`);
    await assertChunks(store, sizes);
    assert.equal(
      (await openSegmentFiles(dir)).length,
      held,
      "a second pass reuses the kept handles",
    );
    const doomed = all.filter((n) => n <= 28);
    await store.deleteUntouched(doomed.map(chunkIdOf), Date.now() + 1);
    assert.ok((await store.compact()).segments > 0, "some segments were compacted");
    await new Promise((r) => setTimeout(r, 50)); // the removal runs after retireDelayMs (0 here)
    const deleted = (await openSegmentFiles(dir)).filter((t) => t.endsWith("(deleted)"));
    assert.deepEqual(deleted, [], "no handle keeps a removed segment's space");
    for (const n of doomed) sizes.delete(n);
    await assertChunks(store, sizes);
    await store.close();
    assert.deepEqual(await openSegmentFiles(dir), [], "close releases every handle");
  });
});

Deno.test("SegmentStore - readEach spans records lying close together in one read, and returns each right", async () => {
  await withTempDir(async (dir) => {
    let reads = 0;
    const counting: DriveIO = {
      ...realDrive,
      open: async (path, options) => {
        // Each read of a range starts with a seek (a read call may return part of a range).
        const file = await realDrive.open(path, options);
        const seekSync = file.seekSync!.bind(file);
        file.seekSync = (offset, whence) => {
          reads++;
          return seekSync(offset, whence);
        };
        return file;
      },
    };
    const store = await openSuiteStore(dir, counting);
    try {
      // 1–12: 100 KiB records side by side; 13 lies after a 400 KiB record, past the widest gap.
      for (let n = 1; n <= 12; n++) await appendChunk(store, n, 100 * KIB);
      await appendChunk(store, 20, 400 * KIB);
      await appendChunk(store, 13, 100 * KIB);
      const wanted = [1, 3, 4, 7, 7, 10, 13];
      reads = 0;
      const got = await store.readEach(wanted.map(chunkIdOf));
      wanted.forEach((n, i) => {
        const payload = got[i];
        assert.ok(payload instanceof Uint8Array, `chunk ${n}: ${payload}`);
        assert.deepEqual(decodeShard(payload).bytes, payloadOf(n, 100 * KIB), `chunk ${n}`);
      });
      assert.equal(
        reads,
        2,
        `1 to 10 in one read (gaps of one or two records), 13 in another: ${reads}`,
      );
      // A span is capped at one pooled read buffer: 2 MiB of records take two reads.
      for (let n = 30; n < 52; n++) await appendChunk(store, n, 100 * KIB);
      reads = 0;
      const many = [...Array(22).keys()].map((i) => i + 30);
      await assertChunks(store, new Map(many.map((n) => [n, 100 * KIB])));
      assert.equal(reads, 2);
    } finally {
      await store.close();
    }
  });
});
