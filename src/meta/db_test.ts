import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Db } from "./db.ts";

Deno.test("Db - an index from a newer build is refused, not migrated or written", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/index.db`;
  await new Db(path).close();
  const raw = new DatabaseSync(path);
  const version = (raw.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  raw.exec(`PRAGMA user_version=${version + 1}`);
  raw.close();
  assert.throws(() => new Db(path), /written by a newer Amber \(index format \d+\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Db.journalTo - each batch becomes one changeset before it commits; replayed, they rebuild the index", async () => {
  const dir = await Deno.makeTempDir();
  const db = new Db(`${dir}/index.db`);
  await new Db(`${dir}/empty.db`).close();
  const journal: { seq: number; changeset: Uint8Array; writeIds: string[] }[] = [];
  let fail = false;
  db.journalTo((seq, changeset, writeIds) => {
    journal.push({ seq, changeset, writeIds });
    return fail ? Promise.reject(new Error("drives gone")) : Promise.resolve();
  });
  const put = (name: string, writeIds?: string[]) =>
    db.write(
      () => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name),
      writeIds,
    );
  await Promise.all([put("a", ["w1"]), put("b", ["w2", "w1"])]);
  await db.write(() => db.get("SELECT 1"));
  assert.equal(journal.length, 1, "one batch, one record; a batch that changed nothing none");
  assert.deepEqual(journal[0].writeIds, ["w1", "w2"], "the batch names each write session once");
  await put("c");
  fail = true;
  await assert.rejects(put("d"), /drives gone/, "a write whose record failed is not acknowledged");
  assert.equal(db.get("SELECT 1 FROM buckets WHERE name = 'd'"), undefined, "and rolled back");
  assert.deepEqual(journal.map((j) => j.seq), [1, 2, 3]);
  assert.equal(db.journalSeq, 2);
  fail = false;
  await put("e");
  assert.deepEqual(journal.map((j) => j.seq), [1, 2, 3, 3], "the failed sequence is used again");
  await db.settled();
  const replay = new DatabaseSync(`${dir}/empty.db`);
  for (const j of [journal[0], journal[1], journal[3]]) replay.applyChangeset(j.changeset);
  const dump = (q: (s: string) => unknown[]) => [
    q("SELECT name FROM buckets ORDER BY name"),
    q("SELECT * FROM counters ORDER BY name"),
  ];
  assert.deepEqual(
    dump((s) => replay.prepare(s).all()),
    dump((s) => db.all(s)),
  );
  replay.close();
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Db.journalTo - a settled batch's write sessions go back with the next append, or alone after a pause", async () => {
  const dir = await Deno.makeTempDir();
  const db = new Db(`${dir}/index.db`);
  const ended: string[][] = [];
  const released: string[][] = [];
  db.journalTo((_seq, _changeset, _writeIds, e) => {
    ended.push(e);
    return Promise.resolve();
  }, (writeIds) => released.push(writeIds));
  const put = (name: string, writeIds?: string[]) =>
    db.write(
      () => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name),
      writeIds,
    );
  await put("a", ["w1"]);
  await assert.rejects(put("a", ["w2"]), /UNIQUE/, "a refused write's session ends too");
  await put("b", ["w3"]);
  assert.deepEqual(
    ended,
    [[], ["w1", "w2"]],
    "sessions of settled batches ride on the next append",
  );
  assert.deepEqual(released, []);
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(released, [["w3"]], "with no append to carry them, they go back alone");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Db.journalTo - while a batch waits for its record, reads see only committed rows and new writes wait", async () => {
  const dir = await Deno.makeTempDir();
  const db = new Db(`${dir}/index.db`);
  let release = () => {};
  db.journalTo(() => new Promise<void>((r) => (release = r)));
  const put = (name: string) =>
    db.write(() => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name));
  const first = put("a");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(db.get("SELECT 1 FROM buckets WHERE name = 'a'"), undefined, "not durable yet");
  assert.throws(() => db.run("DELETE FROM buckets"), /outside a group commit/);
  const second = put("b");
  await new Promise((r) => setTimeout(r, 10));
  release();
  await first;
  assert.ok(db.get("SELECT 1 FROM buckets WHERE name = 'a'"), "visible once durable");
  assert.equal(db.get("SELECT 1 FROM buckets WHERE name = 'b'"), undefined, "the next batch waits");
  await new Promise((r) => setTimeout(r, 10));
  release();
  await second;
  assert.equal(db.journalSeq, 2);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Db.applyJournalTail - an index that lost its last batches gets them back from the journal", async () => {
  const dir = await Deno.makeTempDir();
  const journal: { seq: number; changeset: Uint8Array }[] = [];
  const db = new Db(`${dir}/index.db`);
  db.journalTo((seq, changeset) => {
    journal.push({ seq, changeset });
    return Promise.resolve();
  });
  const put = (name: string) =>
    db.write(() => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name));
  await put("a");
  await db.close();
  Deno.copyFileSync(`${dir}/index.db`, `${dir}/old.db`); // the index as a power cut left it
  const again = new Db(`${dir}/index.db`);
  again.journalTo((seq, changeset) => {
    journal.push({ seq, changeset });
    return Promise.resolve();
  });
  const put2 = (name: string) =>
    again.write(() =>
      again.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name)
    );
  await put2("b");
  await put2("c");
  await again.close();

  const old = new Db(`${dir}/old.db`);
  assert.equal(old.journalSeq, 1);
  assert.throws(() => old.applyJournalTail(journal.slice(2)), /journal batch 2 is missing/);
  assert.deepEqual(old.applyJournalTail(journal.slice(1)), { applied: 2, conflicts: 0 });
  assert.deepEqual(
    old.all<{ name: string }>("SELECT name FROM buckets ORDER BY name").map((r) => r.name),
    ["a", "b", "c"],
  );
  assert.equal(old.journalSeq, 3);
  await old.close();
  await Deno.remove(dir, { recursive: true });
});
