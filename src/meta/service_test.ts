import assert from "node:assert/strict";
import type { VersionRecord } from "../channel/mod.ts";
import { MetaError } from "./errors.ts";
import { newVersionId, seqOfVersionId } from "./objects.ts";
import { withIndex } from "./test_index.ts";

function manifestOf(...ids: number[]): Uint8Array {
  const m = new Uint8Array(ids.length * 36);
  ids.forEach((id, i) => {
    m[i * 36] = id;
    new DataView(m.buffer).setUint32(i * 36 + 32, 10);
  });
  return m;
}

function version(size: number, manifest = manifestOf(1)): VersionRecord {
  return {
    versionId: "null",
    size,
    etag: "e" + size,
    lastModified: 0,
    headers: {},
    userMeta: {},
    manifest,
  };
}

/** The listing S3 defines, computed by brute force over a sorted key list. */
function reference(keys: string[], prefix: string, delimiter: string) {
  const enc = new TextEncoder();
  const cmp = (a: string, b: string) => Buffer.compare(enc.encode(a), enc.encode(b));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const k of [...keys].sort(cmp)) {
    if (!k.startsWith(prefix)) continue;
    let entry = k;
    if (delimiter) {
      const at = k.indexOf(delimiter, prefix.length);
      if (at >= 0) entry = k.slice(0, at + delimiter.length);
    }
    if (seen.has(entry)) continue;
    seen.add(entry);
    out.push(entry);
  }
  return out;
}

Deno.test("listObjects - pages with delimiter match a brute-force listing", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const alphabet = ["a", "b", "/", "é", "z"];
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const keys = new Set<string>();
    while (keys.size < 300) {
      let k = "";
      for (let i = 0, n = 1 + rand(6); i < n; i++) k += alphabet[rand(alphabet.length)];
      keys.add(k);
    }
    await Promise.all(
      [...keys].map((key) => call({ type: "putVersion", bucket: "b", key, version: version(1) })),
    );
    for (
      const [prefix, delimiter] of [["", ""], ["", "/"], ["a", "/"], ["a/", "/"], ["b", "é"], [
        "z",
        "",
      ]]
    ) {
      const expected = reference([...keys], prefix, delimiter);
      for (const pageSize of [1, 7, 1000]) {
        const got: string[] = [];
        let marker = "";
        for (let pages = 0; pages < 1000; pages++) {
          const r = await call({
            type: "listObjects",
            bucket: "b",
            prefix,
            delimiter,
            startAfter: marker,
            maxKeys: pageSize,
          });
          got.push(...r.items.map((i) => i.key), ...r.commonPrefixes);
          assert.ok(r.items.length + r.commonPrefixes.length <= pageSize);
          if (!r.isTruncated) break;
          marker = r.nextMarker!;
        }
        const sortedGot = [...got].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.deepEqual(
          sortedGot,
          expected,
          `prefix=${prefix} delimiter=${delimiter} page=${pageSize}`,
        );
      }
    }
  });
});

Deno.test("putVersion - replacing and deleting keeps chunk references exact", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k",
      version: version(1, manifestOf(1, 2)),
    });
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k2",
      version: version(1, manifestOf(2, 3)),
    });
    assert.equal((await call({ type: "stats", chunks: true })).chunkRefs, 4);
    await call({ type: "putVersion", bucket: "b", key: "k", version: version(2, manifestOf(3)) });
    let s = await call({ type: "stats", chunks: true });
    assert.equal(s.chunkRefs, 3);
    assert.equal(s.chunks, 2);
    await call({ type: "deleteObject", bucket: "b", key: "k", now: 0, bypassGovernance: false });
    await call({ type: "deleteObject", bucket: "b", key: "k2", now: 0, bypassGovernance: false });
    s = await call({ type: "stats", chunks: true });
    assert.equal(s.chunkRefs, 0);
    assert.equal(s.versions, 0);
    await call({ type: "deleteBucket", bucket: "b" });
  });
});

Deno.test("completeUpload - parts move their references to the version; aborts release them", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const upload = {
      uploadId: "u",
      bucket: "b",
      key: "k",
      initiated: 0,
      headers: {},
      userMeta: {},
    };
    await call({ type: "createUpload", upload });
    const part = (n: number, id: number, size: number) => ({
      type: "putPart" as const,
      bucket: "b",
      key: "k",
      uploadId: "u",
      part: {
        partNumber: n,
        size,
        etag: `0${n}`.padEnd(32, "0"),
        lastModified: 0,
        manifest: manifestOf(id),
      },
    });
    await call(part(1, 1, 6 << 20));
    await call(part(1, 4, 6 << 20)); // replaced
    await call(part(2, 2, 100));
    await call(part(3, 3, 100)); // not listed in Complete
    assert.equal((await call({ type: "stats", chunks: true })).chunkRefs, 3);
    const bad = call({
      type: "completeUpload",
      bucket: "b",
      key: "k",
      uploadId: "u",
      parts: [{ partNumber: 2, etag: "x" }],
      now: 0,
      minPartBytes: 5 << 20,
    });
    await assert.rejects(bad, (e: unknown) => e instanceof MetaError && e.kind === "invalidPart");
    const order = call({
      type: "completeUpload",
      bucket: "b",
      key: "k",
      uploadId: "u",
      parts: [{ partNumber: 2, etag: "02".padEnd(32, "0") }, {
        partNumber: 1,
        etag: "01".padEnd(32, "0"),
      }],
      now: 0,
      minPartBytes: 5 << 20,
    });
    await assert.rejects(
      order,
      (e: unknown) => e instanceof MetaError && e.kind === "invalidPartOrder",
    );
    const small = call({
      type: "completeUpload",
      bucket: "b",
      key: "k",
      uploadId: "u",
      parts: [{ partNumber: 2, etag: "02".padEnd(32, "0") }, {
        partNumber: 3,
        etag: "03".padEnd(32, "0"),
      }],
      now: 0,
      minPartBytes: 5 << 20,
    });
    await assert.rejects(
      small,
      (e: unknown) => e instanceof MetaError && e.kind === "partTooSmall",
    );
    const v = await call({
      type: "completeUpload",
      bucket: "b",
      key: "k",
      uploadId: "u",
      parts: [{ partNumber: 1, etag: "01".padEnd(32, "0") }, {
        partNumber: 2,
        etag: '"' + "02".padEnd(32, "0") + '"',
      }],
      now: 0,
      minPartBytes: 5 << 20,
    });
    assert.equal(v.size, (6 << 20) + 100);
    assert.match(v.etag, /^[0-9a-f]{32}-2$/);
    assert.deepEqual(v.partSizes, [6 << 20, 100]);
    const s = await call({ type: "stats", chunks: true });
    assert.equal(s.chunkRefs, 2, "only the version's two chunks stay referenced");
    await assert.rejects(
      call({ type: "getUpload", bucket: "b", key: "k", uploadId: "u" }),
      (e: unknown) => e instanceof MetaError && e.kind === "noSuchUpload",
    );
  });
});

Deno.test("putVersion - If-None-Match and If-Match are checked inside the commit", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const results = await Promise.allSettled(
      [1, 2, 3].map((n) =>
        call({ type: "putVersion", bucket: "b", key: "k", version: version(n), ifNoneMatch: true })
      ),
    );
    assert.equal(
      results.filter((r) => r.status === "fulfilled").length,
      1,
      "exactly one racing create wins",
    );
    const current = await call({ type: "getVersion", bucket: "b", key: "k" });
    await assert.rejects(
      call({ type: "putVersion", bucket: "b", key: "k", version: version(9), ifMatch: "nope" }),
      (e: unknown) => e instanceof MetaError && e.kind === "preconditionFailed",
    );
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k",
      version: version(9),
      ifMatch: current.etag,
    });
    assert.equal((await call({ type: "getVersion", bucket: "b", key: "k" })).size, 9);
  });
});

Deno.test("newVersionId - URL-safe, distinct, never starting with a dash, carrying its sequence", () => {
  const seqs = [0, 1, 2, 255, 256, 65_535, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 20_000; i++) seqs.push(Math.floor(Math.random() * 2 ** 40));
  const ids = new Set(seqs.map((seq) => newVersionId(seq)));
  assert.equal(ids.size, seqs.length);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{23}$/);
  assert.deepEqual([...ids].map(seqOfVersionId), seqs);
  // Ids from before (22 random characters), "null" and junk carry none.
  for (const other of ["null", "AAAAAAAAAAAAAAAAAAAAAA", "x".repeat(24), "", "AQ"]) {
    assert.equal(seqOfVersionId(other), undefined, other);
  }
});
