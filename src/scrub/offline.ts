/**
 * Scrubbing a stopped vault in-process: the same scrub code, with the drives
 * and the index opened read-only; with `repair` the store is opened
 * read-write too, so parity can rewrite what is bad.
 *
 * @module
 */

import type { ScrubPass, ScrubStatus } from "../channel/mod.ts";
import { defaultEc } from "../config.ts";
import { DEMO_VAULT_KEY, KEYRING_FILE, openVault, StoreService } from "../store/mod.ts";
import { tryLockVault } from "./lock.ts";
import { Scrubber } from "./scrubber.ts";

/** What {@linkcode scrubDataDir} is given. */
export interface OfflineScrubOptions {
  /** Drive paths in slot order. @default [`${dataDir}/store`] */
  drives?: string[];
  /** Erasure geometry (only needed to repair). @default defaultEc(drives.length) */
  ec?: { k: number; m: number };
  /** The vault key. @default the demo key */
  vaultKey?: string;
  /** Rewrite bad and missing shards from parity (opens the store read-write). @default false */
  repair?: boolean;
  /** Bytes per second. @default Infinity (unthrottled) */
  rateBytesPerSecond?: number;
  /** Called after each page with the status. */
  onProgress?: (status: ScrubStatus) => void;
}

/**
 * Scrubs the data dir of a stopped vault once and returns the pass: every
 * shard, chunk, reference and reference count checked. The vault must not be
 * running when `repair` is set (two writers on one store).
 *
 * @example
 * ```ts ignore
 * import { scrubDataDir } from "./offline.ts";
 * const pass = await scrubDataDir("/var/lib/amber", { vaultKey: Deno.env.get("AMBER_VAULT_KEY") });
 * if (pass.found > 0) console.error(pass.findings);
 * ```
 *
 * @param dataDir The data dir.
 * @param opts Drives, vault key, repair.
 * @returns The finished pass.
 * @throws {Error} when the data dir holds no vault.
 */
export async function scrubDataDir(
  dataDir: string,
  opts: OfflineScrubOptions = {},
): Promise<ScrubPass> {
  try {
    Deno.statSync(`${dataDir}/${KEYRING_FILE}`);
  } catch {
    throw new Error(`Cannot scrub "${dataDir}": it holds no vault (no ${KEYRING_FILE})`);
  }
  const { keys } = openVault(dataDir, opts.vaultKey ?? DEMO_VAULT_KEY);
  const drives = opts.drives ?? [`${dataDir}/store`];
  const lock = opts.repair ? tryLockVault(dataDir) : undefined;
  if (opts.repair && !lock) {
    throw new Error(
      `Cannot repair "${dataDir}": the vault is running (stop it, or scrub through it)`,
    );
  }
  try {
    const store = opts.repair
      ? await StoreService.open(`${dataDir}/store`, {
        keys: { idKey: keys.idKey, sealKey: keys.sealKey, vaultId: keys.vaultId },
        drives,
        ec: opts.ec ?? defaultEc(drives.length),
        owedPath: `${dataDir}/owed-shards.db`,
        watch: { intervalMs: 0 },
      })
      : undefined;
    try {
      const scrubber = new Scrubber({
        dataDir,
        drives,
        sealKey: keys.sealKey,
        inlineKey: keys.inlineKey,
        intervalSeconds: 7 * 86400,
        rateBytesPerSecond: opts.rateBytesPerSecond ?? Infinity,
        repair: store && (async (id, bad) => {
          const r = await store.handle({ type: "repairChunk", id, bad });
          return r.result as { shards: number };
        }),
        onProgress: opts.onProgress,
      });
      return await scrubber.runOnce();
    } finally {
      await store?.close();
    }
  } finally {
    lock?.close();
  }
}
