import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { INDEX_FORMAT, migrateIndex } from "../index_schema.ts";
import { applyJournal } from "./index_restore.ts";

Deno.test("applyJournal - migrates a checkpoint of an older format before applying newer records", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // The checkpoint: the oldest index format (versions has gained columns since).
    const old = `${dir}/checkpoint.db`;
    const checkpoint = new DatabaseSync(old);
    migrateIndex(checkpoint, old, 1);
    checkpoint.close();
    // A journal record of this build: one new version.
    const now = `${dir}/index.db`;
    const index = new DatabaseSync(now);
    migrateIndex(index, now);
    const session = index.createSession({ table: "versions" });
    index.prepare(
      `INSERT INTO versions(bucket, key, version_id, seq, size, etag, last_modified, headers,
         user_meta, manifest) VALUES('b', x'6b', 'null', 1, 0, 'e', 0, '{}', '{}', x'')`,
    ).run();
    const record = session.changeset();
    index.close();
    applyJournal(old, [record]);
    const rebuilt = new DatabaseSync(old);
    const rows = rebuilt.prepare("SELECT count(*) AS n FROM versions").get() as { n: number };
    const format = rebuilt.prepare("PRAGMA user_version").get() as { user_version: number };
    rebuilt.close();
    assert.deepEqual([rows.n, format.user_version], [1, INDEX_FORMAT]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
