import assert from "node:assert/strict";
import { INDEX_FORMAT } from "../index_schema.ts";
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { StoreError } from "./errors.ts";
import {
  assembleJournalRecord,
  CHECKPOINT_FILE,
  CHECKPOINT_PIECE_BYTES,
  decodeJournalPiece,
  encodeJournalPieces,
  JOURNAL_PIECE_BYTES,
  journalId,
  journalIdFloor,
  journalSeqOf,
  peekCheckpointSeq,
  readCheckpoint,
  writeCheckpoint,
} from "./index_backup.ts";
import { applyJournal } from "./index_restore.ts";

const sealKey = new Uint8Array(randomBytes(32));

Deno.test("journalId - sequences round-trip, sort in order and stay clear of chunk ids", () => {
  for (const seq of [1, 2, 255, 256, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const id = journalId(seq);
    assert.equal(journalSeqOf(id), seq);
    assert.ok(Buffer.compare(journalIdFloor(seq - 1), id) < 0, "the floor of seq-1 is below it");
    assert.ok(Buffer.compare(id, journalIdFloor(seq)) < 0, "the floor of seq is above it");
  }
  assert.equal(journalSeqOf(new Uint8Array(randomBytes(32))), undefined);
  assert.notDeepEqual(journalId(7), journalId(7), "two records of one sequence get two ids");
});

Deno.test("encodeJournalPieces - a batch round-trips in pieces; the newest complete write wins", () => {
  const big = new Uint8Array(JOURNAL_PIECE_BYTES * 2 + 5).map((_, i) => i % 251);
  const nonce = (b: number) => new Uint8Array(8).fill(b);
  const plains = encodeJournalPieces({ seq: 42, at: 7, changeset: big }, nonce(1));
  assert.equal(plains.length, 3);
  const pieces = plains.map((p) => decodeJournalPiece(p, 42));
  assert.deepEqual(assembleJournalRecord(pieces), { seq: 42, at: 7, changeset: big });
  assert.equal(assembleJournalRecord(pieces.slice(1)), undefined, "a piece missing: no record");
  const newer = encodeJournalPieces({ seq: 42, at: 8, changeset: new Uint8Array([9]) }, nonce(2))
    .map((p) => decodeJournalPiece(p, 42));
  assert.deepEqual(assembleJournalRecord([...newer, ...pieces])?.changeset, new Uint8Array([9]));
  const torn = encodeJournalPieces({ seq: 42, at: 9, changeset: big }, nonce(3))
    .map((p) => decodeJournalPiece(p, 42)).slice(0, 2);
  assert.equal(assembleJournalRecord([...torn, ...pieces])?.at, 7, "a newer write cut short loses");
  assert.throws(() => decodeJournalPiece(plains[0], 43), StoreError);
  assert.throws(() => decodeJournalPiece(new Uint8Array(3), 1), StoreError);
  // A record written before pieces: [seq][at][changeset], read as the only piece.
  const legacy = new Uint8Array(16 + 3);
  new DataView(legacy.buffer).setBigUint64(0, 5n);
  new DataView(legacy.buffer).setFloat64(8, 1);
  legacy.set([0x54, 1, 2], 16);
  assert.deepEqual(assembleJournalRecord([decodeJournalPiece(legacy, 5)]), {
    seq: 5,
    at: 1,
    changeset: new Uint8Array([0x54, 1, 2]),
  });
});

Deno.test("writeCheckpoint - every drive gets a copy that restores byte-identical", async () => {
  const dir = await Deno.makeTempDir();
  const drives = [`${dir}/a`, `${dir}/b`];
  for (const d of drives) Deno.mkdirSync(d);
  const source = `${dir}/copy.db`;
  // Three pieces, the last one short.
  const bytes = new Uint8Array(randomBytes(2 * CHECKPOINT_PIECE_BYTES + 1234));
  Deno.writeFileSync(source, bytes);
  const r = await writeCheckpoint(source, 17, [...drives, `${dir}/missing`], sealKey);
  assert.deepEqual(r.written, drives);
  assert.equal(r.failed.length, 1, "a drive that cannot be written is reported");
  for (const d of drives) {
    assert.equal(peekCheckpointSeq(d), 17);
    assert.deepEqual(await readCheckpoint(d, sealKey, `${d}/out`), {
      seq: 17,
      bytes: bytes.length,
    });
    assert.deepEqual(Deno.readFileSync(`${d}/out`), bytes);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readCheckpoint - a flipped byte, a cut file, a wrong key or a forged sequence is refused", async () => {
  const dir = await Deno.makeTempDir();
  Deno.writeFileSync(`${dir}/copy.db`, new Uint8Array(randomBytes(CHECKPOINT_PIECE_BYTES + 10)));
  await writeCheckpoint(`${dir}/copy.db`, 5, [dir], sealKey);
  const good = Deno.readFileSync(`${dir}/${CHECKPOINT_FILE}`);
  const damaged = async (f: (b: Uint8Array) => Uint8Array, key = sealKey) => {
    Deno.writeFileSync(`${dir}/${CHECKPOINT_FILE}`, f(good.slice()));
    await assert.rejects(readCheckpoint(dir, key), (e) => e instanceof StoreError);
  };
  await damaged((b) => (b[1000] ^= 1, b));
  await damaged((b) => b.subarray(0, b.length - 100));
  await damaged((b) => b.subarray(0, 16 + 4 + CHECKPOINT_PIECE_BYTES / 2));
  await damaged((b) => b, new Uint8Array(randomBytes(32)));
  await damaged((b) => (b[15] = 6, b));
  Deno.removeSync(`${dir}/${CHECKPOINT_FILE}`);
  await assert.rejects(readCheckpoint(dir, sealKey), /No index checkpoint/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("applyJournal - replays changesets without firing triggers twice", async () => {
  const dir = await Deno.makeTempDir();
  const schema = `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE total(name TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
    INSERT INTO total VALUES('rows', 0);
    CREATE TRIGGER t_count AFTER INSERT ON t BEGIN UPDATE total SET n = n + 1; END;`;
  const live = new DatabaseSync(`${dir}/live.db`);
  live.exec(schema);
  const copy = new DatabaseSync(`${dir}/copy.db`);
  copy.exec(schema);
  copy.exec(`PRAGMA user_version=${INDEX_FORMAT}`); // a toy schema, taken as current: no migration
  copy.close();
  const changesets: Uint8Array[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const session = live.createSession();
    live.exec(`INSERT INTO t(v) VALUES('a${batch}'), ('b${batch}')`);
    if (batch === 2) live.exec("UPDATE t SET v = 'changed' WHERE id = 1");
    changesets.push(session.changeset());
    session.close();
  }
  assert.equal(applyJournal(`${dir}/copy.db`, changesets), 0);
  const restored = new DatabaseSync(`${dir}/copy.db`);
  const dump = (db: DatabaseSync) => [
    db.prepare("SELECT * FROM t ORDER BY id").all(),
    db.prepare("SELECT * FROM total").all(),
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all(),
  ];
  assert.deepEqual(dump(restored), dump(live));
  assert.deepEqual((restored.prepare("SELECT n FROM total").get() as { n: number }).n, 6);
  live.close();
  restored.close();
  await Deno.remove(dir, { recursive: true });
});
