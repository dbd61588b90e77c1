/**
 * Rebuilding a stopped vault's index from its drives alone: the newest
 * checkpoint that verifies on any drive, then every journal record after it,
 * in sequence order, read through the striped read (missing drives are
 * tolerated as far as parity allows).
 *
 * The index's triggers are dropped while the records are applied and put
 * back after: each changeset already holds the rows the triggers wrote, and
 * firing them again would count twice. A sequence with no readable record
 * (a batch whose append failed, so it was never acknowledged) is reported as
 * a gap; later records still apply, a row they expected differently being
 * replaced by theirs.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { applyChangesets, indexDamage } from "../index_journal.ts";
import { migrateIndex } from "../index_schema.ts";
import { pathExists } from "../ops/mod.ts";
import { StoreError } from "./errors.ts";
import { fsyncPath, peekCheckpointSeq, readCheckpoint } from "./index_backup.ts";
import { StoreService } from "./service.ts";
import { DEMO_VAULT_KEY } from "./keys.ts";
import { KEYRING_FILE, openVault, tryLockVault } from "./vault.ts";

/** What {@linkcode rebuildIndex} is given. */
export interface RebuildIndexOptions {
  /** Drive paths in slot order. @default [`${dataDir}/store`] */
  drives?: string[];
  /** Erasure geometry. */
  ec: { k: number; m: number };
  /** The vault key. @default the demo key */
  vaultKey?: string;
  /** Replace an existing index (it is moved aside, not deleted). @default false */
  force?: boolean;
}

/** What a rebuild did. */
export interface RebuildIndexReport {
  /** The checkpoint restored: its drive, journal sequence and size. */
  checkpoint: { drive: string; seq: number; bytes: number };
  /** Drives whose checkpoint was missing or did not verify, and why. */
  skippedCheckpoints: string[];
  /** Journal records applied after the checkpoint. */
  applied: number;
  /** The last journal sequence the rebuilt index holds. */
  lastSeq: number;
  /** Sequences after the checkpoint with no readable record before the last one applied. */
  gaps: number[];
  /** Sequences after the last record applied whose append never finished (never acknowledged). */
  unfinished: number[];
  /** Rows a record expected differently (after a gap), replaced or skipped. */
  conflicts: number;
  /** Where the index that was there before went, if one was. */
  movedAside?: string;
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Restores the newest checkpoint that verifies on any drive into `out`.
 *
 * @returns The checkpoint, and the drives skipped with why.
 */
async function restoreCheckpoint(
  drives: string[],
  sealKey: Uint8Array,
  out: string,
): Promise<{ checkpoint: RebuildIndexReport["checkpoint"]; skipped: string[] }> {
  const skipped: string[] = [];
  const candidates = drives
    .map((drive) => ({ drive, seq: peekCheckpointSeq(drive) }))
    .filter((c) => {
      if (c.seq === undefined) skipped.push(`${c.drive}: no checkpoint`);
      return c.seq !== undefined;
    })
    .sort((a, b) => b.seq! - a.seq!);
  for (const { drive } of candidates) {
    try {
      const r = await readCheckpoint(drive, sealKey, out);
      return { checkpoint: { drive, ...r }, skipped };
    } catch (e) {
      skipped.push(`${drive}: ${(e as Error).message}`);
    }
  }
  throw new StoreError(
    "notFound",
    `Cannot rebuild the index: no drive holds a checkpoint that verifies (${skipped.join("; ")})`,
  );
}

/**
 * Applies journal changesets to the index copy at `path`, in order, with its
 * triggers off, after migrating it to this build's index format: a checkpoint
 * older than the records would otherwise lose, without a word, every change to
 * a table that gained columns since. Then checks the result.
 *
 * @returns Rows that conflicted.
 * @throws {StoreError} `corrupt` when the rebuilt index fails SQLite's integrity check.
 */
export function applyJournal(path: string, changesets: Iterable<Uint8Array>): number {
  const db = new DatabaseSync(path);
  try {
    migrateIndex(db, path);
    const conflicts = applyChangesets(db, changesets);
    const problems = indexDamage(db, "integrity_check");
    if (problems) {
      throw new StoreError(
        "corrupt",
        `Cannot rebuild the index: the result is damaged (${problems})`,
      );
    }
    return conflicts;
  } finally {
    db.close();
  }
}

/**
 * Rebuilds `<dataDir>/meta/index.db` of a stopped vault from its drives.
 *
 * @param dataDir The data dir.
 * @param opts Drives, geometry, vault key, force.
 * @returns What was restored and applied.
 * @throws {Error} when the vault is running, an index exists without
 *   `force`, or no checkpoint verifies.
 */
export async function rebuildIndex(
  dataDir: string,
  opts: RebuildIndexOptions,
): Promise<RebuildIndexReport> {
  if (!pathExists(`${dataDir}/${KEYRING_FILE}`)) {
    throw new Error(
      `Cannot rebuild the index of "${dataDir}": it holds no vault (no ${KEYRING_FILE})`,
    );
  }
  const { keys } = openVault(dataDir, opts.vaultKey ?? DEMO_VAULT_KEY);
  const drives = opts.drives ?? [`${dataDir}/store`];
  const lock = tryLockVault(dataDir);
  if (!lock) {
    throw new Error(
      `Cannot rebuild the index of "${dataDir}": the vault is running (stop it first)`,
    );
  }
  try {
    const metaDir = `${dataDir}/meta`;
    const target = `${metaDir}/index.db`;
    const present = pathExists(target) || pathExists(`${target}-wal`);
    if (present && !opts.force) {
      throw new Error(
        `Cannot rebuild the index: "${target}" exists (pass --force to move it aside and rebuild)`,
      );
    }
    Deno.mkdirSync(metaDir, { recursive: true });
    const tmp = `${metaDir}/index.db.rebuild`;
    for (const p of [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`]) removeIfThere(p);
    const { checkpoint, skipped } = await restoreCheckpoint(drives, keys.sealKey, tmp);
    const store = await StoreService.open(`${dataDir}/store`, {
      keys: { idKey: keys.idKey, sealKey: keys.sealKey, vaultId: keys.vaultId },
      drives,
      ec: opts.ec,
      owedPath: `${dataDir}/owed-shards.db`,
      watch: { intervalMs: 0 },
    });
    let journal;
    try {
      journal = await store.readJournal(checkpoint.seq);
    } finally {
      await store.close();
    }
    const { records, unreadable, unfinished } = journal;
    const gaps = new Set(unreadable);
    let expected = checkpoint.seq + 1;
    for (const r of records) {
      for (; expected < r.seq; expected++) gaps.add(expected);
      expected = r.seq + 1;
    }
    const conflicts = applyJournal(tmp, records.map((r) => r.changeset));
    fsyncPath(tmp);
    let movedAside: string | undefined;
    if (present) {
      movedAside = `${target}.replaced-${new Date().toISOString().replaceAll(":", "-")}`;
      for (const suffix of ["", "-wal", "-shm"]) {
        if (pathExists(`${target}${suffix}`)) {
          Deno.renameSync(`${target}${suffix}`, `${movedAside}${suffix}`);
        }
      }
    }
    for (const suffix of ["-wal", "-shm"]) removeIfThere(`${target}${suffix}`);
    Deno.renameSync(tmp, target);
    // The next start takes a checkpoint of the rebuilt index.
    removeIfThere(`${metaDir}/index-checkpoint.json`);
    fsyncPath(metaDir);
    return {
      checkpoint,
      skippedCheckpoints: skipped,
      applied: records.length,
      lastSeq: records.length > 0 ? records[records.length - 1].seq : checkpoint.seq,
      gaps: [...gaps].sort((a, b) => a - b),
      unfinished,
      conflicts,
      movedAside,
    };
  } finally {
    lock.close();
  }
}
