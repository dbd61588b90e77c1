/**
 * Session-13 durability review: a rebuild onto a replaced drive while
 * another drive is away places the away drive's shard index on the new drive;
 * when the away drive comes back, two drives hold the same shard index, and
 * reads count both toward k.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { StoreRequest, StoreResults } from "../../src/channel/mod.ts";
import { StoreService } from "../../src/store/service.ts";

const keys = {
  idKey: new Uint8Array(randomBytes(32)),
  sealKey: new Uint8Array(randomBytes(32)),
  vaultId: new Uint8Array(randomBytes(16)),
};
type Call = <R extends StoreRequest>(r: R) => Promise<StoreResults[R["type"]]>;
const caller = (svc: StoreService): Call => async (r) => (await svc.handle(r)).result as never;

async function write(call: Call, data: Uint8Array): Promise<Uint8Array> {
  const writeId = crypto.randomUUID();
  const r = await call({
    type: "writeData",
    writeId,
    offset: 0,
    data: data.slice().buffer,
    last: true,
  });
  await call({ type: "writeDurable", writeId }).finally(() =>
    call({ type: "writeRelease", writeIds: [writeId] })
  );
  return r.entries;
}
async function read(call: Call, entries: Uint8Array): Promise<Uint8Array> {
  const { chunks } = await call({ type: "readChunks", entries });
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}
function wipe(path: string): void {
  for (const e of Deno.readDirSync(path)) Deno.removeSync(`${path}/${e.name}`, { recursive: true });
}

Deno.test("Drives - 2+2: drive 3 away while drive 0 is replaced and rebuilt, then drive 3 returns: every object still reads", async () => {
  const root = await Deno.makeTempDir({ prefix: "amber-test-dup-" });
  const drives = [0, 1, 2, 3].map((i) => `${root}/d${i}`);
  const open = () =>
    StoreService.open(`${root}/data`, {
      keys,
      drives,
      ec: { k: 2, m: 2 },
      owedPath: `${root}/owed.db`,
      watch: { intervalMs: 0, rebuildBytesPerSecond: 1 << 30 },
      segments: { retireDelayMs: 0 },
    });
  let svc = await open();
  try {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const manifest = await write(caller(svc), data);
    await svc.close();

    // Drive 3 is unplugged (path gone), drive 0 fails and is replaced by an empty disk.
    Deno.renameSync(drives[3], `${root}/d3.away`);
    wipe(drives[0]);
    svc = await open();
    let call = caller(svc);
    while ((await call({ type: "drives" })).drives[0].state !== "ready") {
      await svc.watcher.tick();
      await svc.watcher.settled();
    }
    assert.deepEqual(await read(call, manifest), data, "reads with drive 3 away");
    await svc.close();

    // Drive 3 is plugged back in, as it was.
    Deno.renameSync(`${root}/d3.away`, drives[3]);
    svc = await open();
    call = caller(svc);
    await svc.watcher.tick();
    await svc.watcher.settled();
    const status = await call({ type: "drives" });
    assert.deepEqual(status.drives.map((d) => d.state), ["ready", "ready", "ready", "ready"]);
    assert.deepEqual(
      await read(call, manifest),
      data,
      "all four drives are back: the object must read",
    );
    await svc.close();

    // And with every drive back and ready, losing any two drives must still leave the data.
    for (const lost of [[1, 2], [0, 3], [1, 3]]) {
      const saved = lost.map((i) => {
        Deno.renameSync(drives[i], `${root}/saved${i}`);
        return i;
      });
      svc = await open();
      try {
        assert.deepEqual(await read(caller(svc), manifest), data, `drives ${lost} lost`);
      } finally {
        await svc.close();
        for (const i of saved) Deno.renameSync(`${root}/saved${i}`, drives[i]);
      }
    }
    svc = await open();
  } finally {
    await svc.close().catch(() => undefined);
    await Deno.remove(root, { recursive: true });
  }
});

/** Flips one byte in every 4 KiB of every segment on a drive. */
function flipBytes(path: string): void {
  for (const e of Deno.readDirSync(path)) {
    if (!e.name.endsWith(".seg")) continue;
    const bytes = Deno.readFileSync(`${path}/${e.name}`);
    for (let off = 1000; off < bytes.length; off += 4096) bytes[off] ^= 0x5a;
    Deno.writeFileSync(`${path}/${e.name}`, bytes);
  }
}

Deno.test("Drives - 2+2: heal on read while drive 3 is away, then drive 3 returns: every object still reads", async () => {
  const root = await Deno.makeTempDir({ prefix: "amber-test-dup2-" });
  const drives = [0, 1, 2, 3].map((i) => `${root}/d${i}`);
  const open = () =>
    StoreService.open(`${root}/data`, {
      keys,
      drives,
      ec: { k: 2, m: 2 },
      owedPath: `${root}/owed.db`,
      watch: { intervalMs: 0, rebuildBytesPerSecond: 1 << 30 },
      segments: { retireDelayMs: 0 },
    });
  let svc = await open();
  try {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const manifest = await write(caller(svc), data);
    await svc.close();
    // Drive 3 is unplugged; bits rot on drive 0. Reads go around drive 0 and heal its shards.
    Deno.renameSync(drives[3], `${root}/d3.away`);
    flipBytes(drives[0]);
    svc = await open();
    assert.deepEqual(await read(caller(svc), manifest), data, "read around drive 0");
    await svc.close(); // waits for the heals
    Deno.renameSync(`${root}/d3.away`, drives[3]);
    svc = await open();
    assert.deepEqual(await read(caller(svc), manifest), data, "drive 3 back, drive 0 healed");
  } finally {
    await svc.close().catch(() => undefined);
    await Deno.remove(root, { recursive: true });
  }
});
