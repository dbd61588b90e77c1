/**
 * Prints the `deno compile` flags of the vault for a data dir and listen
 * address: the same sandbox `src/permissions.ts` gives `deno task start` and
 * the tests. Used by `compile.sh`.
 *
 * @module
 */

import { configFromProcess } from "../src/config.ts";
import { vaultFlags } from "../src/permissions.ts";

const config = configFromProcess();
console.log(vaultFlags(config).join("\n"));
