/**
 * `deno task start`: runs main.ts in a child Deno process with exactly the
 * sandbox flags from src/permissions.ts, so the vault itself never holds more
 * than it needs.
 *
 * @module
 */

import { configFromProcess, splitSettingArgs } from "../src/config.ts";
import { VAULT_ENV, vaultFlags } from "../src/permissions.ts";

// `help` and `version` need no sandbox at all (and no valid settings); `keys …` is a client of the
// running vault, and only its setting flags shape the sandbox.
const informational = ["help", "version"].includes(Deno.args[0]) || Deno.args.includes("--help");
const flags = informational ? [] : vaultFlags(
  configFromProcess(
    Deno.args[0] === "keys" ? splitSettingArgs(Deno.args.slice(1)).settings : Deno.args,
  ),
);
const main = new URL("../main.ts", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", ...flags, main, ...Deno.args],
  env: { ...VAULT_ENV },
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => child.kill(sig));
}
Deno.exit((await child.status).code);
