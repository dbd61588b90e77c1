/**
 * The segment store's contract under each fault a {@linkcode FaultyDrive}
 * injects: flipped bits are caught, torn and failed writes leave nothing
 * acknowledged lost and nothing unacknowledged half-written, a full disk is
 * `full`, a vanished drive fails cleanly, a failed fsync is a failed write.
 */
import assert from "node:assert/strict";
import {
  appendChunk,
  assertAbsent,
  assertAfterReopen,
  assertChunks,
  chunkIdOf,
  dropIndex,
  openSuiteStore,
  withTempDir,
} from "./drive_suite.ts";
import { StoreError } from "./errors.ts";
import { FaultyDrive } from "./faulty_drive.ts";

const SEGMENT = "00000001.seg";

function isKind(kind: StoreError["kind"]) {
  return (e: unknown) => e instanceof StoreError && e.kind === kind;
}

/** Registers a test with a fresh drive directory and a {@linkcode FaultyDrive} over it. */
function faultTest(what: string, fn: (dir: string, drive: FaultyDrive) => Promise<void>): void {
  Deno.test(`Drive faults - ${what}`, () => withTempDir((dir) => fn(dir, new FaultyDrive())));
}

function segmentSize(dir: string): number {
  return Deno.statSync(`${dir}/${SEGMENT}`).size;
}

faultTest("concurrent appends share fsyncs", async (dir, drive) => {
  const store = await openSuiteStore(dir, drive);
  try {
    const before = drive.syncDataCalls;
    await Promise.all([...Array(100).keys()].map((i) => appendChunk(store, i + 1, 1000)));
    const syncs = drive.syncDataCalls - before;
    assert.ok(syncs >= 1 && syncs <= 10, `${syncs} fsyncs for 100 appends`);
  } finally {
    await store.close();
  }
});

faultTest(
  "a bit flipped on read is reported corrupt, never returned as data",
  async (dir, drive) => {
    const store = await openSuiteStore(dir, drive);
    try {
      await appendChunk(store, 1, 8000);
      drive.flipReads = 1;
      const [r] = await store.readEach([chunkIdOf(1)]);
      assert.ok(isKind("corrupt")(r), `${r}`);
      assert.equal(drive.flipReads, 0, "the flip was injected");
      // The bytes on disk are fine: the next read is exact.
      await assertChunks(store, new Map([[1, 8000]]));
    } finally {
      await store.close();
    }
  },
);

faultTest(
  "a bit flipped on the way to disk is caught on read and skipped by a rescan",
  async (dir, drive) => {
    const store = await openSuiteStore(dir, drive);
    await appendChunk(store, 1, 8000);
    drive.flipWrites = 1;
    await appendChunk(store, 2, 8000); // the drive lies: acknowledged, stored damaged
    await appendChunk(store, 3, 8000);
    const [r] = await store.readEach([chunkIdOf(2)]);
    assert.ok(isKind("corrupt")(r), `${r}`);
    await assertChunks(store, new Map([[1, 8000], [3, 8000]]));
    await store.close();
    // Without the index, the rescan skips the damaged record and keeps the one after it.
    await dropIndex(dir);
    await assertAfterReopen(dir, new FaultyDrive(), {
      present: new Map([[1, 8000], [3, 8000]]),
      absent: [2],
    });
  },
);

faultTest(
  "a torn write fails its batch, is cut off, and the next write goes on",
  async (dir, drive) => {
    const store = await openSuiteStore(dir, drive);
    for (const n of [1, 2, 3]) await appendChunk(store, n, 4000);
    const before = segmentSize(dir);
    drive.failAfter(6000, "tear");
    const torn = [appendChunk(store, 4, 4000), appendChunk(store, 5, 4000)];
    for (const p of torn) await assert.rejects(p, isKind("io"));
    assert.equal(segmentSize(dir), before, "the torn bytes were cut off");
    await assertAbsent(store, [4, 5]);
    await appendChunk(store, 6, 4000);
    await store.close();
    await assertAfterReopen(dir, new FaultyDrive(), {
      present: new Map([1, 2, 3, 6].map((n) => [n, 4000])),
      absent: [4, 5],
    });
  },
);

faultTest(
  "a crash mid-write loses nothing acknowledged and recovers nothing torn",
  async (dir, drive) => {
    let store = await openSuiteStore(dir, drive);
    for (const n of [1, 2, 3]) await appendChunk(store, n, 4000);
    const before = segmentSize(dir);
    drive.failAfter(3000, "crash"); // inside record 4: neither 4 nor 5 reaches the disk whole
    const torn = [appendChunk(store, 4, 4000), appendChunk(store, 5, 4000)];
    for (const p of torn) await assert.rejects(p);
    assert.ok(drive.gone);
    assert.equal(segmentSize(dir), before + 3000, "the crash left a torn tail");
    await store.close();
    store = await openSuiteStore(dir, new FaultyDrive());
    try {
      await assertChunks(store, new Map([1, 2, 3].map((n) => [n, 4000])));
      await assertAbsent(store, [4, 5]);
      assert.equal(segmentSize(dir), before, "recovery cut the torn tail");
      await appendChunk(store, 6, 4000);
      await assertChunks(store, new Map([1, 2, 3, 6].map((n) => [n, 4000])));
    } finally {
      await store.close();
    }
  },
);

faultTest(
  "ENOSPC fails the batch as `full` with nothing half-written; writes that fit go on",
  async (dir, drive) => {
    let store = await openSuiteStore(dir, drive);
    for (const n of [1, 2, 3]) await appendChunk(store, n, 4000);
    const before = segmentSize(dir);
    drive.failAfter(5000, "full"); // 5000 bytes of room left
    await assert.rejects(appendChunk(store, 4, 20_000), (e: unknown) => {
      assert.ok(isKind("full")(e), `${e}`);
      assert.match((e as Error).message, /no room left.*os error 28/);
      return true;
    });
    assert.equal(segmentSize(dir), before, "the failed record's bytes were cut off");
    await appendChunk(store, 5, 1000); // fits in the room the cut gave back
    await assert.rejects(appendChunk(store, 6, 20_000), isKind("full"));
    const end = segmentSize(dir);
    await store.close();
    store = await openSuiteStore(dir, new FaultyDrive());
    try {
      await assertChunks(store, new Map([[1, 4000], [2, 4000], [3, 4000], [5, 1000]]));
      await assertAbsent(store, [4, 6]);
      assert.equal(segmentSize(dir), end, "recovery found no torn tail");
    } finally {
      await store.close();
    }
  },
);

faultTest(
  "a failed fsync fails the batch: never acknowledged, never indexed, not retried",
  async (dir, drive) => {
    const store = await openSuiteStore(dir, drive);
    await appendChunk(store, 1, 4000);
    const before = segmentSize(dir);
    drive.failSyncs = 1;
    const batch = [appendChunk(store, 2, 4000), appendChunk(store, 3, 4000)];
    for (const p of batch) await assert.rejects(p, isKind("io"));
    assert.equal(drive.failSyncs, 0, "the fsync failure was injected");
    await assertAbsent(store, [2, 3]);
    assert.equal(segmentSize(dir), before, "the unsynced bytes were cut off");
    // A later fsync that succeeds does not make the failed batch count as written.
    await appendChunk(store, 4, 4000);
    await assertAbsent(store, [2, 3]);
    await store.close();
    await assertAfterReopen(dir, new FaultyDrive(), {
      present: new Map([[1, 4000], [4, 4000]]),
      absent: [2, 3],
    });
  },
);

faultTest(
  "a drive vanishing mid-write fails the write; once back, nothing torn survives",
  async (dir, drive) => {
    const store = await openSuiteStore(dir, drive);
    await appendChunk(store, 1, 4000);
    drive.failAfter(3000, "vanish");
    await assert.rejects(appendChunk(store, 2, 8000), isKind("io"));
    await assert.rejects(appendChunk(store, 3, 100), isKind("io"));
    const [r] = await store.readEach([chunkIdOf(1)]);
    assert.ok(isKind("io")(r), `a read from a vanished drive fails: ${r}`);
    drive.heal();
    await appendChunk(store, 4, 100); // written over the torn bytes
    await assertChunks(store, new Map([[1, 4000], [4, 100]]));
    await store.close();
    await assertAfterReopen(dir, new FaultyDrive(), {
      present: new Map([[1, 4000], [4, 100]]),
      absent: [2, 3],
    });
  },
);

faultTest(
  "a bit flipped while recovery reads the segment does not cut acknowledged records",
  async (dir) => {
    let store = await openSuiteStore(dir, new FaultyDrive());
    await appendChunk(store, 1, 100);
    await appendChunk(store, 2, 8000); // the last record, and the middle of the file
    await store.close();
    const size = segmentSize(dir);
    const drive = new FaultyDrive();
    drive.flipReads = 1; // a transient fault: the bytes on disk are fine
    store = await openSuiteStore(dir, drive);
    try {
      assert.equal(drive.flipReads, 0, "the flip was injected");
      assert.equal(segmentSize(dir), size, "the segment was not cut");
      await assertChunks(store, new Map([[1, 100], [2, 8000]]));
    } finally {
      await store.close();
    }
  },
);

faultTest(
  "an acknowledged last record damaged at rest is kept and reported, not cut as torn",
  async (dir, drive) => {
    let store = await openSuiteStore(dir, drive);
    await appendChunk(store, 1, 100);
    drive.flipWrites = 1;
    await appendChunk(store, 2, 8000);
    await store.close();
    const size = segmentSize(dir);
    store = await openSuiteStore(dir, new FaultyDrive());
    await appendChunk(store, 3, 100); // goes after the damaged record, not over it
    await store.close();
    store = await openSuiteStore(dir, new FaultyDrive());
    try {
      assert.ok(segmentSize(dir) > size);
      const [r] = await store.readEach([chunkIdOf(2)]);
      assert.ok(isKind("corrupt")(r), `the damage is reported (for parity to heal): ${r}`);
      await assertChunks(store, new Map([[1, 100], [3, 100]]));
    } finally {
      await store.close();
    }
  },
);

faultTest(
  "ENOSPC while starting a new segment leaves no headless segment behind",
  async (dir, drive) => {
    const segmentMaxBytes = 16 * 1024;
    const store = await openSuiteStore(dir, drive, { segmentMaxBytes });
    for (const n of [1, 2]) await appendChunk(store, n, 9000); // the second fills segment 1
    drive.failAfter(10, "full"); // no room for segment 2's header
    await assert.rejects(appendChunk(store, 3, 100), isKind("full"));
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".seg")),
      [SEGMENT],
    );
    drive.heal();
    await appendChunk(store, 4, 100);
    await store.close();
    await assertAfterReopen(dir, new FaultyDrive(), {
      present: new Map([[1, 9000], [2, 9000], [4, 100]]),
      absent: [3],
      segmentMaxBytes,
    });
  },
);

faultTest("compaction that meets a full disk fails and loses nothing", async (dir, drive) => {
  const segmentMaxBytes = 32 * 1024;
  const store = await openSuiteStore(dir, drive, { segmentMaxBytes });
  const all = [...Array(24).keys()].map((i) => i + 1);
  for (const n of all) await appendChunk(store, n, 8000);
  const doomed = all.filter((n) => n % 4 !== 0 && n <= 12);
  await store.deleteUntouched(doomed.map(chunkIdOf), Date.now() + 1);
  drive.failAfter(100, "full");
  await assert.rejects(store.compact(), isKind("full"));
  const kept = new Map(all.filter((n) => !doomed.includes(n)).map((n) => [n, 8000]));
  await assertChunks(store, kept);
  drive.heal();
  assert.ok((await store.compact()).segments > 0, "with room again, compaction goes on");
  await assertChunks(store, kept);
  await store.close();
  await assertAfterReopen(dir, new FaultyDrive(), {
    present: kept,
    absent: doomed,
    segmentMaxBytes,
  });
});
