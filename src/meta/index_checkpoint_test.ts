import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Client, serve, type StoreRequest, type StoreResults } from "../channel/mod.ts";
import { Db } from "./db.ts";
import { IndexCheckpointer } from "./index_checkpoint.ts";

/** A store that keeps journal records and checkpoints in memory. */
function fakeStore() {
  const journal: number[] = [];
  const checkpoints: { seq: number; buckets: number }[] = [];
  let failJournal = false;
  const channel = new MessageChannel();
  serve<StoreRequest>(channel.port2, (req) => {
    if (req.type === "journalAppend") {
      if (failJournal) throw new Error("no quorum");
      journal.push(req.seq);
      return { result: { ok: true } };
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

Deno.test("IndexCheckpointer - checkpoints at first start, after unjournaled change and at close; not after a clean stop", async () => {
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
  db.close();
  assert.deepEqual(store.checkpoints.at(-1), { seq: 2, buckets: 2 }, "clean shutdown");

  ({ db, c } = open());
  await c.startUp();
  assert.equal(store.checkpoints.length, 2, "the last checkpoint holds the state: none at start");
  store.failNext(true);
  await assert.rejects(put(db, "c"), /no quorum/);
  assert.ok(errors.some((e) => e.includes("Cannot journal index batch 3")), errors.join("\n"));
  store.failNext(false);
  // A crash now: batch 3 is committed but neither journaled nor checkpointed.
  db.close();
  ({ db, c } = open());
  await c.startUp();
  assert.deepEqual(store.checkpoints.at(-1), { seq: 3, buckets: 3 }, "after a crash");
  await c.close();
  db.close();
  store.close();
  await Deno.remove(dir, { recursive: true });
});
