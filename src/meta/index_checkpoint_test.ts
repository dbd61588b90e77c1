import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Client, serve, type StoreRequest, type StoreResults } from "../channel/mod.ts";
import { Db } from "./db.ts";
import { IndexCheckpointer } from "./index_checkpoint.ts";

/** A store that keeps journal records and checkpoints in memory. */
function fakeStore() {
  const journal: number[] = [];
  const records: { seq: number; changeset: Uint8Array }[] = [];
  const checkpoints: { seq: number; buckets: number }[] = [];
  let failJournal = false;
  const channel = new MessageChannel();
  serve<StoreRequest>(channel.port2, (req) => {
    if (req.type === "journalAppend") {
      if (failJournal) throw new Error("no quorum");
      journal.push(req.seq);
      records.push({ seq: req.seq, changeset: req.changeset });
      return { result: { ok: true } };
    }
    if (req.type === "journalTail") {
      return {
        result: {
          records: records.filter((r) => r.seq > req.afterSeq),
          unreadable: [],
          unfinished: [],
          checkpointSeq: 0,
        },
      };
    }
    if (req.type === "indexCheckpoint") {
      const copy = new DatabaseSync(req.path, { readOnly: true });
      const { n } = copy.prepare("SELECT count(*) AS n FROM buckets").get() as { n: number };
      copy.close();
      checkpoints.push({ seq: req.seq, buckets: n });
      return { result: { drives: 1, failed: [] } };
    }
    throw new Error(`unexpected ${req.type}`);
  }, (e) => ({ area: "store", kind: "io", message: String(e) }));
  return {
    client: new Client<StoreRequest, StoreResults>(channel.port1),
    journal,
    checkpoints,
    failNext: (v: boolean) => (failJournal = v),
    close: () => {
      channel.port1.close();
      channel.port2.close();
    },
  };
}

Deno.test("IndexCheckpointer - checkpoints at first start and at close, not after a clean stop; a lost WAL tail comes back from the journal", async () => {
  const dir = await Deno.makeTempDir();
  const store = fakeStore();
  const errors: string[] = [];
  const open = () => {
    const db = new Db(`${dir}/index.db`);
    const c = new IndexCheckpointer(db, {
      store: store.client,
      dir,
      intervalMs: 0,
      onError: (m) => errors.push(m),
    });
    return { db, c };
  };
  const put = (db: Db, name: string) =>
    db.write(() => db.run("INSERT INTO buckets(name, created, region) VALUES(?, 1, 'r')", name));

  let { db, c } = open();
  await c.startUp();
  assert.deepEqual(store.checkpoints, [{ seq: 0, buckets: 0 }], "first start");
  await put(db, "a");
  await put(db, "b");
  assert.deepEqual(store.journal, [1, 2]);
  await c.close();
  await db.close();
  assert.deepEqual(store.checkpoints.at(-1), { seq: 2, buckets: 2 }, "clean shutdown");

  ({ db, c } = open());
  await c.startUp();
  assert.equal(store.checkpoints.length, 2, "the last checkpoint holds the state: none at start");
  store.failNext(true);
  await assert.rejects(put(db, "c"), /no quorum/);
  assert.ok(errors.some((e) => e.includes("Cannot journal index batch 3")), errors.join("\n"));
  assert.equal(db.get("SELECT 1 FROM buckets WHERE name = 'c'"), undefined, "rolled back");
  store.failNext(false);
  Deno.copyFileSync(`${dir}/index.db`, `${dir}/before.db`);
  await put(db, "d");
  await put(db, "e");
  // A power cut now: the WAL lost batches 3 and 4, which only the journal holds.
  await db.close();
  Deno.copyFileSync(`${dir}/before.db`, `${dir}/index.db`);
  ({ db, c } = open());
  assert.equal(db.journalSeq, 2);
  await c.startUp();
  assert.equal(db.journalSeq, 4);
  assert.deepEqual(
    db.all<{ name: string }>("SELECT name FROM buckets ORDER BY name").map((r) => r.name),
    ["a", "b", "d", "e"],
  );
  assert.deepEqual(store.checkpoints.at(-1), { seq: 4, buckets: 4 }, "after a crash");
  await c.close();
  await db.close();
  store.close();
  await Deno.remove(dir, { recursive: true });
});
