import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Db } from "./db.ts";

Deno.test("Db - an index from a newer build is refused, not migrated or written", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/index.db`;
  new Db(path).close();
  const raw = new DatabaseSync(path);
  const version = (raw.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  raw.exec(`PRAGMA user_version=${version + 1}`);
  raw.close();
  assert.throws(() => new Db(path), /written by a newer Amber \(index format \d+\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Db.journalTo - each committed batch becomes one changeset; replayed, they rebuild the index", async () => {
  const dir = await Deno.makeTempDir();
  const db = new Db(`${dir}/index.db`);
  new Db(`${dir}/empty.db`).close();
  const journal: { seq: number; changeset: Uint8Array }[] = [];
  let fail = false;
  db.journalTo((seq, changeset) => {
    journal.push({ seq, changeset });
    return fail ? Promise.reject(new Error("drives gone")) : Promise.resolve();
  });
  const put = (name: string) =>
    db.write(() => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name));
  await Promise.all([put("a"), put("b")]);
  await db.write(() => db.get("SELECT 1"));
  assert.equal(journal.length, 1, "one batch, one record; a batch that changed nothing none");
  await put("c");
  fail = true;
  await assert.rejects(put("d"), /drives gone/, "an unjournaled write is not acknowledged");
  assert.ok(db.get("SELECT 1 FROM buckets WHERE name = 'd'"), "though committed");
  assert.deepEqual(journal.map((j) => j.seq), [1, 2, 3]);
  assert.equal(db.journalSeq, 3);
  await db.journaled();
  const replay = new DatabaseSync(`${dir}/empty.db`);
  for (const j of journal) replay.applyChangeset(j.changeset);
  const dump = (q: (s: string) => unknown[]) => [
    q("SELECT name FROM buckets ORDER BY name"),
    q("SELECT * FROM counters ORDER BY name"),
  ];
  assert.deepEqual(
    dump((s) => replay.prepare(s).all()),
    dump((s) => db.all(s)),
  );
  replay.close();
  db.close();
  await Deno.remove(dir, { recursive: true });
});
