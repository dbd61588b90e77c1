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
