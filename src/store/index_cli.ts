/**
 * `deno task rebuild-index` and `amber rebuild-index`: rebuild a stopped
 * vault's index from its drives (see `index_restore.ts` and the README's
 * "Index recovery" section).
 *
 * @module
 */

import { ConfigError, loadConfig } from "../config.ts";
import { setLogLevel } from "../ops/mod.ts";
import { rebuildIndex } from "./index_restore.ts";

/**
 * Runs the rebuild-index command.
 *
 * @param args Arguments after `rebuild-index`: `--force`, `--json`, and any
 *   vault setting (`--data-dir`, `--drives`, `--ec`, …).
 * @returns The exit status: 0 rebuilt, 1 failed, 2 usage error.
 */
export async function runRebuildIndexCommand(args: string[]): Promise<number> {
  const force = args.includes("--force");
  const json = args.includes("--json");
  let config;
  try {
    config = loadConfig({
      args: args.filter((a) => a !== "--force" && a !== "--json"),
      env: (n) => Deno.env.get(n),
      readFile: Deno.readTextFileSync,
      cwd: Deno.cwd(),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.lines) console.error(`amber rebuild-index: ${line}`);
    return 2;
  }
  setLogLevel("error");
  try {
    const r = await rebuildIndex(config.dataDir, {
      drives: config.drives,
      ec: config.ec,
      vaultKey: config.vaultKey,
      force,
    });
    if (json) console.log(JSON.stringify(r));
    else {
      console.log(
        `rebuild-index: restored checkpoint ${r.checkpoint.seq} (${r.checkpoint.bytes} bytes) from "${r.checkpoint.drive}", ` +
          `applied ${r.applied} journal records, the index is at record ${r.lastSeq}` +
          (r.movedAside ? `; the old index was moved to "${r.movedAside}"` : ""),
      );
      for (const s of r.skippedCheckpoints) console.log(`rebuild-index: skipped checkpoint ${s}`);
      if (r.gaps.length > 0) {
        console.log(
          `rebuild-index: WARNING: no readable journal record for ${r.gaps.length} batches (${
            r.gaps.slice(0, 20).join(", ")
          }) before the last one: their acknowledged writes are lost from the index (bring back any missing drive and run it again); ${r.conflicts} rows conflicted`,
        );
      }
      if (r.unfinished.length > 0) {
        console.log(
          `rebuild-index: dropped ${r.unfinished.length} journal batches after the last one (${
            r.unfinished.join(", ")
          }): their writes never finished, so they were never acknowledged`,
        );
      }
    }
    // The index is rebuilt as far as it goes, but batches before the last are acknowledged writes.
    return r.gaps.length > 0 ? 3 : 0;
  } catch (e) {
    console.error(`amber rebuild-index: ${(e as Error).message}`);
    return 1;
  }
}
