/**
 * The striped store's contract when one of its drives (a {@linkcode FaultyDrive})
 * fails: flipped bits are rebuilt from parity and healed, a drive that
 * vanishes or fails its fsync is a failed shard (owed while the write quorum
 * holds, refused below it), and every acknowledged chunk stays readable.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { prepareDrives } from "./drives.ts";
import { StoreError } from "./errors.ts";
import { decodeShard } from "./format.ts";
import { FaultyDrive } from "./faulty_drive.ts";
import { DriveWatcher } from "./rebuild.ts";
import { StripedStore } from "./striped.ts";

const vaultId = new Uint8Array(randomBytes(16));

interface Rig {
  store: StripedStore;
  faults: FaultyDrive[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** A striped store over `k + m` drives, each behind its own {@linkcode FaultyDrive}. */
async function rig(k: number, m: number): Promise<Rig> {
  const root = await Deno.makeTempDir({ prefix: "amber-striped-faults-" });
  const paths = [...Array(k + m).keys()].map((i) => `${root}/d${i}`);
  const faults = paths.map(() => new FaultyDrive());
  const store = await StripedStore.open({
    drives: prepareDrives(paths, vaultId),
    k,
    m,
    vaultId,
    owedPath: `${root}/owed.db`,
    plainLength: () => 0,
    segments: { retireDelayMs: 0 },
    driveIo: (slot) => faults[slot],
  });
  return {
    store,
    faults,
    async [Symbol.asyncDispose]() {
      for (const f of faults) f.heal();
      await store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** A chunk id whose shard `j` lands on drive `j` (placement starts at `id[0] mod n`). */
function chunkId(n: number): Uint8Array {
  const id = new Uint8Array(32).fill(n);
  id[0] = 0;
  return id;
}

const sealedChunk = () => new Uint8Array(randomBytes(20_000));

function isKind(kind: StoreError["kind"]) {
  return (e: unknown) => e instanceof StoreError && e.kind === kind;
}

Deno.test("Striped faults - a shard damaged on its way to disk is rebuilt from parity and healed", async () => {
  await using r = await rig(2, 2);
  const id = chunkId(1);
  const sealed = sealedChunk();
  r.faults[0].flipWrites = 1; // data shard 0 is stored with a flipped bit
  await r.store.append(id, sealed, sealed.length).durable;
  const [own] = await r.store.drives[0].store!.readEach([id]);
  assert.ok(isKind("corrupt")(own), `drive 0 holds a damaged shard: ${own}`);
  assert.deepEqual(await r.store.readMany([id]), [sealed]);
  // The heal on read runs in the background; wait for it.
  for (let i = 0; i < 200 && r.store.healedShards === 0; i++) {
    await new Promise((res) => setTimeout(res, 5));
  }
  assert.equal(r.store.healedShards, 1);
  const [healed] = await r.store.drives[0].store!.readEach([id]);
  assert.ok(healed instanceof Uint8Array, `drive 0 holds a good shard again: ${healed}`);
  assert.equal(decodeShard(healed).header.shard, 0);
  // With the two parity drives gone, the data shards alone give the chunk back.
  r.faults[2].vanish();
  r.faults[3].vanish();
  assert.deepEqual(await r.store.readMany([id]), [sealed]);
});

Deno.test("Striped faults - bits flipped on read are never returned: parity covers them", async () => {
  await using r = await rig(2, 2);
  const ids = [1, 2, 3].map(chunkId);
  const chunks = ids.map(sealedChunk);
  await Promise.all(ids.map((id, i) => r.store.append(id, chunks[i], 0).durable));
  r.faults[0].flipReads = 100;
  r.faults[1].flipReads = 100; // both data shards of every chunk read damaged
  assert.deepEqual(await r.store.readMany(ids), chunks);
  r.faults[2].flipReads = 100; // three of four shards bad: too few to rebuild, and said so
  await assert.rejects(r.store.readMany(ids), isKind("corrupt"));
});

Deno.test("Striped faults - a drive vanishing mid-write: acknowledged on quorum, shard owed, paid back", async () => {
  await using r = await rig(2, 2);
  const a = chunkId(1);
  const sealedA = sealedChunk();
  r.faults[3].failAfter(1000, "vanish"); // inside parity shard 3 of chunk a
  await r.store.append(a, sealedA, 0).durable;
  assert.ok(r.faults[3].gone);
  assert.deepEqual(r.store.owed.take(3, 10), [a], "the shard drive 3 missed is owed");
  assert.deepEqual(await r.store.readMany([a]), [sealedA]);
  // A second drive gone: below the write quorum (3 of 4), a write is refused, not half-acknowledged.
  r.faults[2].vanish();
  const b = chunkId(2);
  await assert.rejects(r.store.append(b, sealedChunk(), 0).durable, isKind("unavailable"));
  assert.deepEqual(await r.store.readMany([a]), [sealedA], "acknowledged data stays readable");
  // Both drives back: the watcher pays the debts.
  r.faults[2].heal();
  r.faults[3].heal();
  const watcher = new DriveWatcher(r.store, { vaultId, intervalMs: 0 });
  await watcher.tick();
  await watcher.close();
  assert.deepEqual(r.store.owed.take(3, 10), []);
  assert.equal(r.store.drives[3].store!.locate(a)?.shard, 3);
  r.faults[0].vanish();
  r.faults[1].vanish();
  assert.deepEqual(await r.store.readMany([a]), [sealedA], "the repaid parity carries the chunk");
});

Deno.test("Striped faults - a single drive that vanishes refuses the write", async () => {
  await using r = await rig(1, 0);
  const a = chunkId(1);
  const sealedA = sealedChunk();
  await r.store.append(a, sealedA, 0).durable;
  r.faults[0].failAfter(500, "vanish");
  await assert.rejects(r.store.append(chunkId(2), sealedChunk(), 0).durable, isKind("unavailable"));
  await assert.rejects(r.store.readMany([a]), (e: unknown) => e instanceof StoreError);
  r.faults[0].heal();
  assert.deepEqual(await r.store.readMany([a]), [sealedA]);
  await assert.rejects(r.store.readMany([chunkId(2)]), isKind("notFound"));
});

Deno.test("Striped faults - a failed fsync is a failed shard: never indexed, owed with quorum, refused without", async () => {
  await using r = await rig(2, 2);
  const a = chunkId(1);
  const sealedA = sealedChunk();
  r.faults[3].failSyncs = 1;
  await r.store.append(a, sealedA, 0).durable;
  assert.equal(r.faults[3].failSyncs, 0, "the fsync failure was injected");
  assert.equal(r.store.drives[3].store!.locate(a), undefined, "the unsynced shard is not indexed");
  assert.deepEqual(r.store.owed.take(3, 10), [a]);
  r.faults[2].failSyncs = 1;
  r.faults[3].failSyncs = 1;
  const b = chunkId(2);
  await assert.rejects(r.store.append(b, sealedChunk(), 0).durable, isKind("unavailable"));
  assert.equal(r.store.touch(b), false, "the refused chunk has too few shards to dedupe against");
  assert.deepEqual(await r.store.readMany([a]), [sealedA]);
});

Deno.test("Striped faults - drives that are full make the write `full`", async () => {
  await using r = await rig(2, 2);
  for (const f of r.faults.slice(1)) f.failAfter(100, "full");
  await assert.rejects(r.store.append(chunkId(1), sealedChunk(), 0).durable, isKind("full"));
  for (const f of r.faults) f.heal();
  const sealed = sealedChunk();
  await r.store.append(chunkId(2), sealed, 0).durable;
  assert.deepEqual(await r.store.readMany([chunkId(2)]), [sealed]);
});
