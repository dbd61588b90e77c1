/**
 * `deno task rebuild-index [--data-dir …] [--force]`: rebuilds a stopped
 * vault's index from its drives (see `src/store/index_cli.ts` and the
 * README's "Index recovery" section).
 *
 * @module
 */

import { runRebuildIndexCommand } from "../src/store/mod.ts";

Deno.exit(await runRebuildIndexCommand(Deno.args));
