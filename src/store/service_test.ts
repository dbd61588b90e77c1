import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { MANIFEST_ENTRY_BYTES, type StoreRequest, type StoreResults } from "../channel/mod.ts";
import { StoreError } from "./errors.ts";
import { FaultyDrive } from "./faulty_drive.ts";
import { type GcOptions, StoreService } from "./service.ts";

const keys = {
  idKey: new Uint8Array(randomBytes(32)),
  sealKey: new Uint8Array(randomBytes(32)),
  vaultId: new Uint8Array(randomBytes(16)),
};

type Call = <R extends StoreRequest>(r: R) => Promise<StoreResults[R["type"]]>;

async function withStore(
  gc: Omit<GcOptions, "intervalMs">,
  fn: (call: Call, dir: string) => Promise<void>,
  segmentMaxBytes?: number,
) {
  const dir = await Deno.makeTempDir();
  const svc = await StoreService.open(dir, {
    keys,
    gc: { intervalMs: 0, ...gc },
    segments: { segmentMaxBytes, retireDelayMs: 0 },
  });
  try {
    await fn(async (r) => (await svc.handle(r)).result as never, dir);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads the listed chunks back, joined. */
async function read(call: Call, entries: Uint8Array): Promise<Uint8Array> {
  const { chunks } = await call({ type: "readChunks", entries });
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

/** Writes `data` as one session and returns its manifest; released unless `keepPinned`. */
async function write(call: Call, data: Uint8Array, keepPinned = false): Promise<Uint8Array> {
  const writeId = crypto.randomUUID();
  const copy = data.slice();
  const half = Math.floor(data.length / 2);
  const a = await call({
    type: "writeData",
    writeId,
    offset: 0,
    data: copy.slice(0, half).buffer,
    last: false,
  });
  const b = await call({
    type: "writeData",
    writeId,
    offset: half,
    data: copy.slice(half).buffer,
    last: true,
  });
  await call({ type: "writeDurable", writeId });
  if (!keepPinned) await call({ type: "writeRelease", writeIds: [writeId] });
  const m = new Uint8Array(a.entries.length + b.entries.length);
  m.set(a.entries);
  m.set(b.entries, a.entries.length);
  return m;
}

/** A store on three drives of `root` behind `faults`, at `ec` (2+1 unless said). */
function openOnThree(
  root: string,
  faults: FaultyDrive[],
  opts: { ec?: { k: number; m: number }; gc?: GcOptions } = {},
): Promise<StoreService> {
  return StoreService.open(`${root}/data`, {
    keys,
    drives: [0, 1, 2].map((i) => `${root}/d${i}`),
    ec: opts.ec ?? { k: 2, m: 1 },
    owedPath: `${root}/owed.db`,
    watch: { intervalMs: 0 },
    driveIo: (slot) => faults[slot],
    gc: opts.gc,
    segments: { retireDelayMs: 0 },
  });
}

/** Writes random bytes as one session, left open (pinned); returns it and its chunk count. */
async function openWrite(
  call: Call,
): Promise<{ writeId: string; entries: Uint8Array; chunks: number }> {
  const writeId = crypto.randomUUID();
  const data = new Uint8Array(randomBytes(150_000)).buffer;
  const { entries } = await call({ type: "writeData", writeId, offset: 0, data, last: true });
  return { writeId, entries, chunks: entries.length / MANIFEST_ENTRY_BYTES };
}

/** The index's answer when exactly the chunks in `keep` (ids joined as strings) are referenced. */
const referencedIn = (keep: Set<string>) => (ids: Uint8Array) => {
  const out = new Uint8Array(ids.length / 32);
  for (let i = 0; i < out.length; i++) {
    out[i] = keep.has(ids.subarray(i * 32, i * 32 + 32).join()) ? 1 : 0;
  }
  return Promise.resolve(out);
};

const nothingReferenced = () => (ids: Uint8Array) =>
  Promise.resolve(new Uint8Array(ids.length / 32));

Deno.test("StoreService - a write round-trips and deduplicates", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    const data = new Uint8Array(randomBytes(300_000));
    const m1 = await write(call, data);
    const before = await call({ type: "stats" });
    const m2 = await write(call, data);
    assert.deepEqual(m2, m1);
    assert.equal(
      (await call({ type: "stats" })).chunks,
      before.chunks,
      "the second write stored nothing new",
    );
    const back = await read(call, m1);
    assert.deepEqual(back, data);
  });
});

Deno.test("StoreService - pieces out of order or for an unknown session are refused", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    const piece = () => new Uint8Array(1000).buffer;
    await assert.rejects(
      call({ type: "writeData", writeId: "x", offset: 5, data: piece(), last: false }),
      (e: unknown) => e instanceof StoreError,
    );
    await call({ type: "writeData", writeId: "y", offset: 0, data: piece(), last: false });
    await assert.rejects(
      call({ type: "writeData", writeId: "y", offset: 0, data: piece(), last: false }),
      (e: unknown) => e instanceof StoreError,
    );
    await call({ type: "writeData", writeId: "y", offset: 1000, data: piece(), last: true });
    await assert.rejects(
      call({ type: "writeData", writeId: "y", offset: 2000, data: piece(), last: true }),
      (e: unknown) => e instanceof StoreError,
      "a session that ended takes no more pieces",
    );
  });
});

Deno.test("collectGarbage - unreferenced chunks go, referenced ones stay", async () => {
  const keep = new Set<string>();
  const referenced = referencedIn(keep);
  await withStore({ graceMs: 0, referenced }, async (call) => {
    const kept = await write(call, new Uint8Array(randomBytes(200_000)));
    for (let i = 0; i < kept.length; i += MANIFEST_ENTRY_BYTES) {
      keep.add(kept.subarray(i, i + 32).join());
    }
    const dropped = await write(call, new Uint8Array(randomBytes(200_000)));
    await new Promise((r) => setTimeout(r, 5));
    const report = await call({ type: "collectGarbage" });
    assert.equal(report.deletedChunks, dropped.length / MANIFEST_ENTRY_BYTES);
    assert.equal((await call({ type: "stats" })).chunks, kept.length / MANIFEST_ENTRY_BYTES);
    await call({ type: "readChunks", entries: kept });
    await assert.rejects(
      call({ type: "readChunks", entries: dropped }),
      (e: unknown) => e instanceof StoreError,
    );
  });
});

Deno.test("collectGarbage - chunks of a pinned (not yet released) write are kept", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    await new Promise((r) => setTimeout(r, 5));
    const pinned = await write(call, new Uint8Array(randomBytes(200_000)), true);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await call({ type: "collectGarbage" })).deletedChunks, 0);
    await call({ type: "readChunks", entries: pinned });
  });
});

Deno.test("collectGarbage - chunks a journal record names stay until its batch committed or a record of its sequence won", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    const append = (seq: number, writeIds: string[], ended: string[] = []) =>
      call({ type: "journalAppend", seq, changeset: new Uint8Array([seq]), writeIds, ended });
    const collected = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return (await call({ type: "collectGarbage" })).deletedChunks;
    };
    // Batch 1's record is durable but its COMMIT failed: the request ended, the index rolled back.
    const a = await openWrite(call);
    await append(1, [a.writeId]);
    await call({ type: "writeRelease", writeIds: [a.writeId] });
    await call({ type: "writeRelease", writeIds: [a.writeId], committedSeq: 0 });
    assert.equal(await collected(), 0, "a restart now would replay the record, naming the chunks");
    // The index reuses the sequence: that record wins, and nothing names the first write's chunks.
    const b = await openWrite(call);
    await append(1, [b.writeId]);
    assert.equal(await collected(), a.chunks);
    // Batch 1 committed this time, and the index says so as it hands the write back.
    await call({ type: "writeRelease", writeIds: [b.writeId], committedSeq: 1 });
    assert.equal(await collected(), b.chunks);
    // Or the next append says so, and ends the write.
    const c = await openWrite(call);
    await append(2, [c.writeId]);
    await append(3, [], [c.writeId]);
    assert.equal(await collected(), c.chunks);
  });
});

Deno.test("collectGarbage - a release that arrives while a journal record is written keeps its chunks", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    const collected = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return (await call({ type: "collectGarbage" })).deletedChunks;
    };
    const a = await openWrite(call);
    const appending = call({
      type: "journalAppend",
      seq: 1,
      changeset: new Uint8Array([1]),
      writeIds: [a.writeId],
    });
    // The router gave up on the request (a channel timeout) while the batch is being made durable.
    await call({ type: "writeRelease", writeIds: [a.writeId] });
    assert.equal(await collected(), 0, "the batch may yet commit");
    await appending;
    assert.equal(await collected(), 0, "a restart now would replay the record");
    await call({ type: "writeRelease", writeIds: [], committedSeq: 1 });
    assert.equal(await collected(), a.chunks);
  });
});

Deno.test("collectGarbage - chunks a failed journal record names stay until a record of its sequence wins", async () => {
  const root = await Deno.makeTempDir();
  const faults = [new FaultyDrive(), new FaultyDrive(), new FaultyDrive()];
  const svc = await openOnThree(root, faults, {
    gc: { intervalMs: 0, graceMs: 0, referenced: nothingReferenced() },
  });
  const call: Call = async (r) => (await svc.handle(r)).result as never;
  const append = (seq: number, writeIds: string[]) =>
    call({ type: "journalAppend", seq, changeset: new Uint8Array([seq]), writeIds });
  const collected = async () => {
    await new Promise((r) => setTimeout(r, 5));
    return (await call({ type: "collectGarbage" })).deletedChunks;
  };
  try {
    await append(1, []);
    const a = await openWrite(call);
    await call({ type: "writeDurable", writeId: a.writeId });
    // Drive 2 is full: the record lands on two drives of three, short of the quorum. It is
    // tombstoned there, but if that failed too (or the failed write's truncation did), a restart
    // before the index reuses the sequence would replay it, naming the write's chunks.
    faults[2].failAfter(0, "full");
    await assert.rejects(append(2, [a.writeId]), StoreError);
    faults[2].heal();
    await call({ type: "writeRelease", writeIds: [a.writeId] });
    assert.equal(await collected(), 0);
    await append(2, []); // the index reuses the sequence, and this record wins
    assert.equal(await collected(), a.chunks);
  } finally {
    await svc.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("collectGarbage - a write deduplicating against a candidate mid-collection keeps it", async () => {
  const data = new Uint8Array(randomBytes(200_000));
  let call!: Call;
  let raced = false;
  const referenced = async (ids: Uint8Array) => {
    // While the index is being asked, a new upload of the same bytes arrives and is acknowledged.
    await write(call, data, true);
    raced = true;
    return new Uint8Array(ids.length / 32);
  };
  await withStore({ graceMs: 0, referenced }, async (c) => {
    call = c;
    const m = await write(call, data);
    await new Promise((r) => setTimeout(r, 5));
    const report = await call({ type: "collectGarbage" });
    assert.ok(raced);
    assert.equal(report.deletedChunks, 0);
    assert.deepEqual(await read(call, m), data);
  });
});

Deno.test("collectGarbage - compaction moves live records and removes mostly-dead segments", async () => {
  const keep = new Set<string>();
  const referenced = referencedIn(keep);
  await withStore({ graceMs: 0, referenced }, async (call, dir) => {
    const manifests: { m: Uint8Array; data: Uint8Array }[] = [];
    for (let i = 0; i < 12; i++) {
      const data = new Uint8Array(randomBytes(100_000));
      manifests.push({ m: await write(call, data), data });
    }
    const live = manifests.filter((_, i) => i % 4 === 0);
    for (const { m } of live) {
      for (let i = 0; i < m.length; i += MANIFEST_ENTRY_BYTES) {
        keep.add(m.subarray(i, i + 32).join());
      }
    }
    const before = await call({ type: "stats" });
    await new Promise((r) => setTimeout(r, 5));
    const report = await call({ type: "collectGarbage" });
    assert.ok(report.compactedSegments > 0, JSON.stringify(report));
    await new Promise((r) => setTimeout(r, 50)); // retired files go after the (test-shortened) delay
    const after = await call({ type: "stats" });
    // The newest segments stay (the crash-rescan window), and live records were copied forward.
    assert.ok(report.reclaimedBytes > 0);
    assert.ok(
      after.diskBytes < before.diskBytes * 0.8,
      `${after.diskBytes} vs ${before.diskBytes}`,
    );
    for (const { m, data } of live) {
      assert.deepEqual(await read(call, m), data);
    }
    const segmentFiles = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".seg")).length;
    assert.equal(segmentFiles, after.segments);
  }, 150_000);
});

Deno.test("collectGarbage - a damaged live record keeps its segment; the others are compacted all the same", async () => {
  const keep = new Set<string>();
  const referenced = referencedIn(keep);
  await withStore({ graceMs: 0, referenced }, async (call, dir) => {
    // The first segment holds a live object (kept, say, under COMPLIANCE); the rest turns to garbage.
    const live = await write(call, new Uint8Array(randomBytes(20_000)));
    keep.add(live.subarray(0, 32).join());
    for (let i = 0; i < 10; i++) await write(call, new Uint8Array(randomBytes(100_000)));
    const index = new DatabaseSync(`${dir}/chunks.db`);
    const row = index.prepare("SELECT segment, offset, length FROM chunks WHERE id = ?").get(
      live.subarray(0, 32),
    ) as { segment: number; offset: number; length: number };
    index.close();
    const path = `${dir}/${String(row.segment).padStart(8, "0")}.seg`;
    const bytes = Deno.readFileSync(path);
    bytes[row.offset + (row.length >> 1)] ^= 0x10; // one bit of the live record rots
    Deno.writeFileSync(path, bytes);
    const before = await call({ type: "stats" });
    await new Promise((r) => setTimeout(r, 5));
    const report = await call({ type: "collectGarbage" });
    assert.ok(report.compactedSegments > 0, JSON.stringify(report));
    await new Promise((r) => setTimeout(r, 50));
    const after = await call({ type: "stats" });
    assert.ok(
      after.diskBytes < before.diskBytes * 0.8,
      `${after.diskBytes} vs ${before.diskBytes}`,
    );
    assert.ok(Deno.statSync(path).isFile, "the damaged record's segment stays");
  }, 150_000);
});

Deno.test("StoreService - close ends while a collection fails (the index stopped first)", async () => {
  const dir = await Deno.makeTempDir();
  let asked!: () => void;
  const askedIndex = new Promise<void>((r) => (asked = r));
  let refuse!: (e: Error) => void;
  const svc = await StoreService.open(dir, {
    keys,
    gc: {
      intervalMs: 0,
      graceMs: 0,
      referenced: () => {
        asked();
        return new Promise((_, reject) => (refuse = reject));
      },
    },
  });
  try {
    await write(
      async (r) => (await svc.handle(r)).result as never,
      new Uint8Array(randomBytes(1e5)),
    );
    await new Promise((r) => setTimeout(r, 5)); // older than the cutoff (no grace)
    const collection = svc.collectGarbage().then(() => "ran", () => "failed");
    await askedIndex;
    const closed = svc.close();
    refuse(new Error("statement has been finalized")); // what a closed index answers
    await closed;
    assert.equal(await collection, "failed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService - GC keeps journal records newer than the last checkpoint, collects older ones", async () => {
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call, dir) => {
    for (const seq of [1, 2, 3]) {
      await call({
        type: "journalAppend",
        seq,
        changeset: new Uint8Array([seq, 1, 2, 3]),
        writeIds: [],
      });
    }
    await call({ type: "collectGarbage" });
    assert.equal((await call({ type: "stats" })).chunks, 3, "no checkpoint yet: all are kept");
    const copy = `${dir}/copy.db`;
    Deno.writeFileSync(copy, new Uint8Array(100));
    assert.equal((await call({ type: "indexCheckpoint", seq: 2, path: copy })).drives, 1);
    await call({ type: "collectGarbage" });
    assert.equal((await call({ type: "stats" })).chunks, 1, "records 1 and 2 are collected");
  });
});

Deno.test("StoreService - a batch larger than a record (a 5 GiB upload's completion) is journaled in pieces", async () => {
  const dir = await Deno.makeTempDir();
  const svc = await StoreService.open(dir, { keys });
  try {
    const changeset = new Uint8Array(randomBytes(9 * 1024 * 1024 + 3));
    await svc.handle({ type: "journalAppend", seq: 1, changeset, writeIds: [] });
    const { records, unreadable } = await svc.readJournal(0);
    assert.deepEqual(unreadable, []);
    assert.equal(records.length, 1);
    assert.deepEqual(records[0].changeset, changeset);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService.readJournal - records after a sequence, in order, the later written of two copies", async () => {
  const dir = await Deno.makeTempDir();
  const svc = await StoreService.open(dir, { keys });
  try {
    const append = (seq: number, byte: number) =>
      svc.handle({ type: "journalAppend", seq, changeset: new Uint8Array([byte]), writeIds: [] });
    for (const seq of [3, 1, 2, 4]) await append(seq, seq);
    // The later copy wins even when the clock stepped back in between.
    const now = Date.now;
    Date.now = () => now() - 3_600_000;
    try {
      await append(3, 33);
    } finally {
      Date.now = now;
    }
    const { records, unreadable } = await svc.readJournal(1);
    assert.deepEqual(records.map((r) => [r.seq, r.changeset[0]]), [[2, 2], [3, 33], [4, 4]]);
    assert.deepEqual(unreadable, []);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService - a journal record naming a write whose chunks failed is refused and never written", async () => {
  const dir = await Deno.makeTempDir();
  const drive = new FaultyDrive();
  const svc = await StoreService.open(dir, { keys, driveIo: () => drive });
  const call: Call = async (r) => (await svc.handle(r)).result as never;
  try {
    const writeId = crypto.randomUUID();
    await call({
      type: "writeData",
      writeId,
      offset: 0,
      data: new Uint8Array(randomBytes(200_000)).buffer,
      last: true,
    });
    // The chunks' fsync fails; the record comes after, when the drive works again.
    drive.failSyncs = 1;
    await assert.rejects(call({ type: "writeDurable", writeId }), StoreError);
    assert.equal(drive.failSyncs, 0);
    await assert.rejects(
      call({ type: "journalAppend", seq: 1, changeset: new Uint8Array([1]), writeIds: [writeId] }),
      StoreError,
    );
    await call({ type: "journalAppend", seq: 2, changeset: new Uint8Array([2]), writeIds: [] });
    const { records } = await svc.readJournal(0);
    assert.deepEqual(records.map((r) => r.seq), [2], "no record of the failed batch to replay");
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService.readJournal - a record cut off by a crash is unfinished after the last whole one, a gap before it", async () => {
  const dir = await Deno.makeTempDir();
  const drive = new FaultyDrive();
  let svc = await StoreService.open(dir, { keys, driveIo: () => drive });
  try {
    await svc.handle({
      type: "journalAppend",
      seq: 1,
      changeset: new Uint8Array([1]),
      writeIds: [],
    });
    // The process dies inside record 2's second piece (a changeset over 3 MiB): the first piece is whole.
    drive.failAfter(3.5 * 1024 * 1024, "crash");
    const big = new Uint8Array(randomBytes(4 * 1024 * 1024));
    await assert.rejects(
      svc.handle({ type: "journalAppend", seq: 2, changeset: big, writeIds: [] }),
    );
    await svc.close().catch(() => undefined);
    drive.heal();
    svc = await StoreService.open(dir, { keys, driveIo: () => drive });
    const cut = await svc.readJournal(1);
    assert.deepEqual([cut.records.length, cut.unreadable, cut.unfinished], [0, [], [2]]);
    // The index's start-up asks for the tail: the cut-off parts go then, so no scrub takes them
    // for a damaged record.
    const tail = (await svc.handle({ type: "journalTail", afterSeq: 1 })).result as StoreResults[
      "journalTail"
    ];
    assert.deepEqual(tail.unfinished, [2]);
    assert.deepEqual((await svc.readJournal(1)).unfinished, [], "its parts are gone");
    // The next batch reuses the sequence: its whole record is the one read.
    await svc.handle({
      type: "journalAppend",
      seq: 2,
      changeset: new Uint8Array([2]),
      writeIds: [],
    });
    const reused = await svc.readJournal(1);
    assert.deepEqual(reused.records.map((r) => [r.seq, r.changeset[0]]), [[2, 2]]);
    assert.deepEqual([reused.unreadable, reused.unfinished], [[], []]);
    // A sequence with no whole record before a later one is a gap, still reported.
    await svc.close();
    drive.failAfter(3.5 * 1024 * 1024, "crash");
    svc = await StoreService.open(dir, { keys, driveIo: () => drive });
    await assert.rejects(
      svc.handle({ type: "journalAppend", seq: 3, changeset: big, writeIds: [] }),
    );
    await svc.close().catch(() => undefined);
    drive.heal();
    svc = await StoreService.open(dir, { keys, driveIo: () => drive });
    await svc.handle({
      type: "journalAppend",
      seq: 4,
      changeset: new Uint8Array([4]),
      writeIds: [],
    });
    const gap = await svc.readJournal(1);
    assert.deepEqual(gap.records.map((r) => r.seq), [2, 4]);
    assert.deepEqual([gap.unreadable, gap.unfinished], [[3], []]);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService - a segment whose creation a crash cut short is removed at the next start", async () => {
  const dir = await Deno.makeTempDir();
  const drive = new FaultyDrive();
  const segments = { segmentMaxBytes: 64 * 1024, retireDelayMs: 0 };
  const open = () => StoreService.open(dir, { keys, driveIo: () => drive, segments });
  const append = (svc: StoreService, seq: number, changeset: Uint8Array) =>
    svc.handle({ type: "journalAppend", seq, changeset, writeIds: [] });
  const segmentFiles = () =>
    [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".seg")).sort();
  const crashed = await open();
  await append(crashed, 1, new Uint8Array(randomBytes(100_000))); // fills segment 1
  // Rolling to segment 2, the process dies as the header's first byte is written.
  drive.failAfter(0, "crash");
  await assert.rejects(append(crashed, 2, new Uint8Array([2])));
  await crashed.close().catch(() => undefined);
  drive.heal();
  assert.deepEqual(segmentFiles(), ["00000001.seg", "00000002.seg"]);
  const restarted = await open();
  await append(restarted, 2, new Uint8Array([2]));
  await restarted.close();
  // A header whose bytes never reached the disk (a power cut after the size did) reads as zeros.
  Deno.writeFileSync(`${dir}/00000003.seg`, new Uint8Array(32));
  const svc = await open();
  try {
    assert.deepEqual((await svc.readJournal(0)).records.map((r) => r.seq), [1, 2]);
    await append(svc, 3, new Uint8Array([3]));
    assert.deepEqual((await svc.readJournal(2)).records.map((r) => r.seq), [3]);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService - a journal record refused for want of a write quorum leaves nothing to replay or complete", async () => {
  const root = await Deno.makeTempDir();
  const faults = [new FaultyDrive(), new FaultyDrive(), new FaultyDrive()];
  const open = () => openOnThree(root, faults);
  const append = (svc: StoreService, seq: number, byte: number) =>
    svc.handle({ type: "journalAppend", seq, changeset: new Uint8Array([byte]), writeIds: [] });
  let svc = await open();
  try {
    await append(svc, 1, 1);
    // One drive of 2+1 is full: the quorum of 3 fails, yet k = 2 shards land, enough to read.
    faults[2].failAfter(0, "full");
    await assert.rejects(append(svc, 2, 2), (e: StoreError) => e.kind === "full");
    faults[2].heal();
    assert.deepEqual(svc.drivesStatus().drives.map((d) => d.owedShards), [0, 0, 0]);
    await svc.close();
    svc = await open();
    const tail = await svc.readJournal(1);
    assert.deepEqual([tail.records, tail.unreadable, tail.unfinished], [[], [], []]);
  } finally {
    await svc.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("StoreService - records a crash left unsynced are fsync'd at start before writes can deduplicate against them", async () => {
  const dir = await Deno.makeTempDir();
  const drive = new FaultyDrive();
  const first = await StoreService.open(dir, { keys, driveIo: () => drive });
  const data = new Uint8Array(randomBytes(200_000)).buffer;
  const writeId = crypto.randomUUID();
  // Lazily synced: written to the file, not yet fsync'd, when the process dies.
  await first.handle({ type: "writeData", writeId, offset: 0, data, last: true });
  await new Promise((r) => setTimeout(r, 20)); // the flush loop writes them
  drive.failAfter(0, "crash"); // and nothing more reaches the drive, not even close's fsync
  await first.close().catch(() => undefined);
  drive.heal();
  const syncsBefore = drive.syncDataCalls;
  const svc = await StoreService.open(dir, { keys, driveIo: () => drive });
  try {
    assert.ok(drive.syncDataCalls > syncsBefore, "the recovered segment is fsync'd at open");
    const { result } = await svc.handle({ type: "stats" });
    assert.ok((result as StoreResults["stats"]).chunks > 0, "and indexed");
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreService - a drive that cannot be opened is offline while parity allows; alone, its error is the reason", async () => {
  const root = await Deno.makeTempDir();
  const drives = [0, 1, 2].map((i) => `${root}/d${i}`);
  const open = () =>
    StoreService.open(`${root}/data`, {
      keys,
      drives,
      ec: { k: 2, m: 1 },
      owedPath: `${root}/owed.db`,
      watch: { intervalMs: 0 },
    });
  const append = (svc: StoreService) =>
    svc.handle({ type: "journalAppend", seq: 1, changeset: new Uint8Array([1]), writeIds: [] });
  const damage = (path: string) => {
    const bytes = Deno.readFileSync(path);
    bytes.fill(9, 0, 16);
    Deno.writeFileSync(path, bytes);
  };
  let svc = await open();
  try {
    await append(svc);
    await svc.close();
    // Drive 1's segment header is damaged: that drive cannot be opened.
    damage(`${drives[1]}/00000001.seg`);
    svc = await open();
    assert.deepEqual(svc.drivesStatus().drives.map((d) => d.state), ["ready", "offline", "ready"]);
    assert.deepEqual((await svc.readJournal(0)).records.map((r) => r.seq), [1]);
  } finally {
    await svc.close();
  }
  const single = `${root}/single`;
  const one = await StoreService.open(single, { keys });
  await append(one);
  await one.close();
  damage(`${single}/00000001.seg`);
  await assert.rejects(
    StoreService.open(single, { keys }),
    /0 of 1 drives are online and 1 are needed to read \(.*00000001\.seg/,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("collectGarbage - a system clock stepped back does not age an open upload's chunks", async () => {
  const wall = Date.now;
  await withStore({ graceMs: 0, referenced: nothingReferenced() }, async (call) => {
    const writeId = crypto.randomUUID();
    const piece = (offset: number, last: boolean) =>
      call({
        type: "writeData",
        writeId,
        offset,
        data: new Uint8Array(randomBytes(300_000)).buffer,
        last,
      });
    const first = await piece(0, false);
    try {
      Date.now = () => wall() - 2 * 3_600_000; // the clock steps back two hours mid-upload
      const second = await piece(300_000, true);
      await call({ type: "writeDurable", writeId }); // indexed, with their touch times
      Date.now = () => wall() - 3_600_000;
      await call({ type: "collectGarbage" });
      Date.now = wall;
      const entries = new Uint8Array(first.entries.length + second.entries.length);
      entries.set(first.entries);
      entries.set(second.entries, first.entries.length);
      assert.equal(
        (await read(call, entries)).length,
        600_000,
        "every chunk of the upload is there",
      );
    } finally {
      Date.now = wall;
    }
  });
});

Deno.test("StoreService - a checkpoint counts only on more drives than may be lost (1+2: all three)", async () => {
  const root = await Deno.makeTempDir();
  const faults = [new FaultyDrive(), new FaultyDrive(), new FaultyDrive()];
  const svc = await openOnThree(root, faults, { ec: { k: 1, m: 2 } });
  try {
    const copy = `${root}/copy.db`;
    Deno.writeFileSync(copy, new Uint8Array(100));
    const checkpoint = () => svc.handle({ type: "indexCheckpoint", seq: 1, path: copy });
    assert.equal(((await checkpoint()).result as { drives: number }).drives, 3);
    // Drive 2 is pulled: two copies would not survive losing the two drives 1+2 allows to lose.
    faults[2].vanish();
    Deno.removeSync(`${root}/d2`, { recursive: true });
    await assert.rejects(checkpoint(), /2 drives hold it and 3 are needed/);
  } finally {
    await svc.close();
    await Deno.remove(root, { recursive: true });
  }
});
