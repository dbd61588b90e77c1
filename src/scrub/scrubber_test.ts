import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { auditSigner, MetaService } from "../meta/mod.ts";
import { inlineSealer } from "../inline_body.ts";
import { StoreService } from "../store/mod.ts";
import { Scrubber, type ScrubCheckpoint } from "./scrubber.ts";

const KEYS = {
  idKey: new Uint8Array(32).fill(1),
  sealKey: new Uint8Array(32).fill(2),
  vaultId: new Uint8Array(16).fill(3),
};

/** A data dir with three drives at 2+1 holding one object of several chunks, and `tiny` objects kept in the index. */
async function smallVault(
  tiny: string[] = [],
): Promise<{ dataDir: string; drives: string[]; chunks: number }> {
  const dataDir = await Deno.makeTempDir({ prefix: "amber-scrubber-" });
  const drives = [0, 1, 2].map((i) => `${dataDir}/d${i}`);
  const store = await StoreService.open(`${dataDir}/store`, {
    keys: KEYS,
    drives,
    ec: { k: 2, m: 1 },
    owedPath: `${dataDir}/owed.db`,
    watch: { intervalMs: 0 },
  });
  const data = crypto.getRandomValues(new Uint8Array(60_000));
  const body = new Uint8Array(300_000);
  for (let i = 0; i < 5; i++) body.set(data, i * 60_000);
  const r = await store.handle({
    type: "writeData",
    writeId: "w",
    offset: 0,
    data: body.buffer,
    last: true,
  });
  const { entries } = r.result as { entries: Uint8Array };
  await store.close();
  Deno.mkdirSync(`${dataDir}/meta`);
  const meta = new MetaService(`${dataDir}/meta/index.db`, {
    maxClockJumpMs: 86_400_000,
    onClockAlert: () => {},
    auditSigner: auditSigner(new Uint8Array(32)),
    inlineSealer: inlineSealer(new Uint8Array(32)),
    fourEyes: { vault: "0".repeat(32), quorum: 0, approvers: [], ttlMs: 3_600_000 },
  });
  await meta.handle({ type: "createBucket", bucket: "b", region: "us-east-1", now: Date.now() });
  await meta.handle({
    type: "putVersion",
    bucket: "b",
    key: "k",
    version: {
      size: body.length,
      etag: "e",
      lastModified: Date.now(),
      headers: {},
      userMeta: {},
      manifest: entries,
    },
  });
  for (const key of tiny) {
    await meta.handle({
      type: "putVersion",
      bucket: "b",
      key,
      version: {
        size: 3,
        etag: "e",
        lastModified: Date.now(),
        headers: {},
        userMeta: {},
        manifest: new Uint8Array(0),
        inline: new Uint8Array([1, 2, 3]),
      },
    });
  }
  meta.close();
  return { dataDir, drives, chunks: new Set(chunkIds(entries)).size };
}

function chunkIds(manifest: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < manifest.length; i += 36) {
    out.push(
      Array.from(manifest.subarray(i, i + 32), (b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
  return out;
}

function scrubber(v: { dataDir: string; drives: string[] }, ckpt?: { c?: ScrubCheckpoint }) {
  return new Scrubber({
    dataDir: v.dataDir,
    drives: v.drives,
    sealKey: KEYS.sealKey,
    inlineKey: new Uint8Array(32),
    intervalSeconds: 3600,
    rateBytesPerSecond: Infinity,
    checkpoint: ckpt && { load: () => ckpt.c, save: (c) => (ckpt.c = structuredClone(c)) },
  });
}

Deno.test("Scrubber - a clean vault: every chunk and object checked, nothing found", async () => {
  const v = await smallVault();
  try {
    const pass = await scrubber(v).runOnce();
    assert.equal(pass.found, 0, JSON.stringify(pass.findings));
    assert.equal(pass.chunksChecked, v.chunks);
    assert.equal(pass.shardsChecked, v.chunks * 3);
    assert.equal(pass.objectsTotal, 1);
    assert.equal(pass.bytesScanned, pass.bytesTotal);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a due pass starts by itself; the next is due one interval later", async () => {
  const v = await smallVault();
  const ckpt: { c?: ScrubCheckpoint } = { c: { nextPassAt: 0 } };
  const s = scrubber(v, ckpt);
  try {
    s.schedule();
    assert.equal(s.status().state, "running");
    while (s.status().state !== "idle") await new Promise((r) => setTimeout(r, 10));
    const c = ckpt.c!;
    assert.ok(c.lastFullPassAt && c.lastFullPassAt <= Date.now());
    assert.ok(Math.abs(c.nextPassAt - (c.lastFullPassAt + 3600_000)) < 1000);
    assert.equal(c.pass, undefined);
  } finally {
    await s.close();
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a new vault persists its first due time and does not scrub at once", async () => {
  const v = await smallVault();
  const ckpt: { c?: ScrubCheckpoint } = {};
  const s = scrubber(v, ckpt);
  try {
    s.schedule();
    assert.equal(s.status().state, "idle");
    assert.ok(ckpt.c && ckpt.c.nextPassAt > Date.now() + 3500_000);
  } finally {
    await s.close();
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - wrong refcounts and a chunk no drive holds are named with the object", async () => {
  const v = await smallVault();
  try {
    const meta = new DatabaseSync(`${v.dataDir}/meta/index.db`);
    const [first] = meta.prepare("SELECT id FROM chunks ORDER BY id LIMIT 1").all() as {
      id: Uint8Array;
    }[];
    meta.prepare("UPDATE chunks SET refs = refs + 4 WHERE id = ?").run(first.id);
    meta.close();
    // The last chunk vanishes from every drive's index.
    const d0 = new DatabaseSync(`${v.drives[0]}/chunks.db`);
    const lostId = (d0.prepare("SELECT id FROM chunks ORDER BY id DESC LIMIT 1").get() as {
      id: Uint8Array;
    }).id;
    d0.close();
    for (const d of v.drives) {
      const db = new DatabaseSync(`${d}/chunks.db`);
      db.prepare("DELETE FROM chunks WHERE id = ?").run(lostId);
      db.close();
    }
    const pass = await scrubber(v).runOnce();
    assert.equal(pass.refMismatches, 1, JSON.stringify(pass.findings));
    const missing = pass.findings.filter((f) => f.kind === "missingChunk");
    assert.equal(missing.length, 1);
    assert.deepEqual(missing[0].objects, [{ bucket: "b", key: "k", versionId: "null" }]);
    assert.equal(pass.unrecoverable, 1);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a damaged body kept in the index is named with its object; sound ones pass", async () => {
  const v = await smallVault(["tiny-ok", "tiny-bad"]);
  try {
    const meta = new DatabaseSync(`${v.dataDir}/meta/index.db`);
    const row = meta.prepare(
      "SELECT b.id, b.sealed FROM versions v JOIN inline_bodies b ON b.id = v.inline_id WHERE v.key = ?",
    ).get(new TextEncoder().encode("tiny-bad")) as { id: number; sealed: Uint8Array };
    const sealed = new Uint8Array(row.sealed);
    sealed[sealed.length - 1] ^= 1;
    meta.prepare("UPDATE inline_bodies SET sealed = ? WHERE id = ?").run(sealed, row.id);
    meta.close();
    const pass = await scrubber(v).runOnce();
    assert.equal(pass.objectsTotal, 3);
    assert.equal(pass.unrecoverable, 1);
    assert.deepEqual(pass.findings.map((f) => [f.kind, f.objects]), [
      ["badInline", [{ bucket: "b", key: "tiny-bad", versionId: "null" }]],
    ]);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a pass that cannot open the index fails with a clear error", async () => {
  const v = await smallVault();
  try {
    Deno.removeSync(`${v.dataDir}/meta`, { recursive: true });
    const s = scrubber(v);
    await assert.rejects(s.runOnce(), /Cannot open the index/);
    assert.match(s.status().lastError ?? "", /Cannot open the index/);
    assert.equal(s.status().state, "idle");
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a damaged segment header is reported; its records still check out", async () => {
  const v = await smallVault();
  try {
    const path = `${v.drives[1]}/00000001.seg`;
    const bytes = Deno.readFileSync(path);
    bytes[20] ^= 0xff; // inside the vault id, covered by the header checksum
    Deno.writeFileSync(path, bytes);
    const pass = await scrubber(v).runOnce();
    assert.deepEqual(pass.findings.map((f) => [f.kind, f.drive, f.segment]), [[
      "badSegment",
      1,
      1,
    ]]);
    assert.equal(pass.unrecoverable, 0);
    assert.equal(pass.chunksChecked, v.chunks);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a chunk nothing references is left to the collector, however damaged; a referenced one is reported", async () => {
  const v = await smallVault();
  try {
    // A write a crash cut off: its chunks stored, never committed to the index.
    const store = await StoreService.open(`${v.dataDir}/store`, {
      keys: KEYS,
      drives: v.drives,
      ec: { k: 2, m: 1 },
      owedPath: `${v.dataDir}/owed.db`,
      watch: { intervalMs: 0 },
    });
    const orphan = await store.handle({
      type: "writeData",
      writeId: "cut-off",
      offset: 0,
      data: crypto.getRandomValues(new Uint8Array(30_000)).buffer,
      last: true,
    });
    await store.handle({ type: "writeDurable", writeId: "cut-off" });
    await store.close();
    const orphanId = (orphan.result as { entries: Uint8Array }).entries.slice(0, 32);
    const meta = new DatabaseSync(`${v.dataDir}/meta/index.db`);
    const { id: referencedId } = meta.prepare("SELECT id FROM chunks ORDER BY id LIMIT 1")
      .get() as {
        id: Uint8Array;
      };
    meta.close();
    // Both lose their shards on drives 1 and 2: one good shard of three, unreadable.
    for (const d of v.drives.slice(1)) {
      const db = new DatabaseSync(`${d}/chunks.db`);
      for (const id of [orphanId, referencedId]) {
        db.prepare("DELETE FROM chunks WHERE id = ?").run(id);
      }
      db.close();
    }
    const pass = await scrubber(v).runOnce();
    const lost = pass.findings.filter((f) => f.kind === "unrecoverable");
    assert.deepEqual(
      lost.map((f) => f.chunk),
      [Array.from(referencedId, (b) => b.toString(16).padStart(2, "0")).join("")],
      JSON.stringify(pass.findings),
    );
    assert.deepEqual(lost[0].objects, [{ bucket: "b", key: "k", versionId: "null" }]);
    assert.equal(pass.unrecoverable, 1);
    assert.equal(pass.unreferencedSkipped, 1);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});

Deno.test("Scrubber - a record moved past where the pass was to end (compaction, a heal) is checked in the same pass", async () => {
  const v = await smallVault();
  try {
    // A pass starts (and is stopped at once, its cursor at the start).
    const saved: { c?: ScrubCheckpoint } = {};
    const first = scrubber(v, saved);
    first.command("start");
    first.command("pause");
    await first.close();
    assert.equal(saved.c?.cursor?.phase, "shards");
    // It is to end at each drive's last record; but the last chunk's record on drive 0 has moved
    // past that end since (as compaction moves live records to the end of the drive), and the
    // chunk lost its shard on drive 1.
    const last = (d: number) => {
      const db = new DatabaseSync(`${v.drives[d]}/chunks.db`);
      const row = db.prepare(
        "SELECT id, segment, offset FROM chunks ORDER BY segment DESC, offset DESC LIMIT 1",
      ).get() as { id: Uint8Array; segment: number; offset: number };
      db.close();
      return row;
    };
    const moved = last(0);
    saved.c!.ends = [{ segment: moved.segment, offset: moved.offset - 1 }, last(1), last(2)]
      .map(({ segment, offset }) => ({ segment, offset }));
    const drive1 = new DatabaseSync(`${v.drives[1]}/chunks.db`);
    drive1.prepare("DELETE FROM chunks WHERE id = ?").run(moved.id);
    drive1.close();
    saved.c!.paused = false;
    const pass = await scrubber(v, saved).runOnce();
    const hex = Array.from(moved.id, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.ok(pass.findings.some((f) => f.chunk === hex), JSON.stringify(pass.findings));
    assert.equal(pass.chunksChecked, v.chunks);
  } finally {
    await Deno.remove(v.dataDir, { recursive: true });
  }
});
