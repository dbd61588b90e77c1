/**
 * End-state checks for the race tests: the index's chunk reference counts
 * against the manifests that hold them, `latest` against the versions, and
 * every referenced chunk present in the store's chunk index.
 * Run on a stopped vault's data dir.
 */
import { DatabaseSync } from "node:sqlite";
import { journalSeqOf } from "../../src/store/index_backup.ts";

const ENTRY = 36;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export interface IndexReport {
  problems: string[];
  /** Stored chunks (not journal records) nothing references: leaked, or not yet collected. */
  unreferenced: number;
  chunks: number;
  refs: number;
}

/** Checks a stopped vault's index and store. */
export function checkDataDir(dataDir: string): IndexReport {
  const db = new DatabaseSync(`${dataDir}/meta/index.db`, { readOnly: true });
  const problems: string[] = [];
  const expected = new Map<string, number>();
  const add = (m: Uint8Array) => {
    for (let off = 0; off < m.length; off += ENTRY) {
      const id = hex(m.subarray(off, off + 32));
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
  };
  for (const r of db.prepare("SELECT manifest FROM versions").all() as { manifest: Uint8Array }[]) {
    add(r.manifest);
  }
  for (const r of db.prepare("SELECT manifest FROM parts").all() as { manifest: Uint8Array }[]) {
    add(r.manifest);
  }
  const actual = new Map<string, number>();
  for (
    const r of db.prepare("SELECT id, refs FROM chunks").all() as { id: Uint8Array; refs: number }[]
  ) {
    actual.set(hex(r.id), r.refs);
  }
  for (const [id, n] of expected) {
    if (actual.get(id) !== n) {
      problems.push(`chunk ${id.slice(0, 12)}: refs ${actual.get(id)} but ${n} holders`);
    }
  }
  for (const [id, n] of actual) {
    if (!expected.has(id)) problems.push(`chunk ${id.slice(0, 12)}: refs ${n} but no holder`);
  }
  // latest must point at each key's newest version.
  const keys = db.prepare(
    `SELECT bucket, key, (SELECT version_id FROM versions v WHERE v.bucket = k.bucket AND v.key = k.key ORDER BY seq DESC LIMIT 1) AS newest
     FROM (SELECT DISTINCT bucket, key FROM versions) k`,
  ).all() as { bucket: string; key: Uint8Array; newest: string }[];
  for (const k of keys) {
    const l = db.prepare("SELECT version_id FROM latest WHERE bucket = ? AND key = ?").get(
      k.bucket,
      k.key,
    ) as
      | { version_id: string }
      | undefined;
    if (l?.version_id !== k.newest) {
      problems.push(
        `latest of ${k.bucket}/${
          new TextDecoder().decode(k.key)
        } is ${l?.version_id}, newest ${k.newest}`,
      );
    }
  }
  const latestRows = db.prepare(
    "SELECT count(*) AS n FROM latest l WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.bucket = l.bucket AND v.key = l.key AND v.version_id = l.version_id)",
  ).get() as { n: number };
  if (latestRows.n > 0) problems.push(`${latestRows.n} latest rows point at missing versions`);
  db.close();
  // Every referenced chunk is in the store's chunk index.
  const store = new DatabaseSync(`${dataDir}/store/chunks.db`, { readOnly: true });
  const has = store.prepare("SELECT 1 AS x FROM chunks WHERE id = ?");
  for (const id of expected.keys()) {
    const bytes = new Uint8Array(id.match(/../g)!.map((h) => parseInt(h, 16)));
    if (!has.get(bytes)) problems.push(`chunk ${id.slice(0, 12)} referenced but not in the store`);
  }
  let unreferenced = 0;
  for (const r of store.prepare("SELECT id FROM chunks").all() as { id: Uint8Array }[]) {
    if (journalSeqOf(r.id) === undefined && !expected.has(hex(r.id))) unreferenced++;
  }
  store.close();
  return {
    problems,
    unreferenced,
    chunks: expected.size,
    refs: [...expected.values()].reduce((a, b) => a + b, 0),
  };
}
