/**
 * `deno task scrub [--data-dir …] [--repair] [--json]`: verifies a vault by
 * hand (see `src/scrub/cli.ts` and the README's "Scrubbing" section).
 *
 * @module
 */

import { runScrubCommand } from "../src/scrub/mod.ts";

Deno.exit(await runScrubCommand(Deno.args));
