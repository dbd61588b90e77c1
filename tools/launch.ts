/**
 * `deno task start`: runs main.ts in a child Deno process with exactly the
 * sandbox flags from src/permissions.ts, so the vault itself never holds more
 * than it needs.
 *
 * @module
 */

import { ConfigError, loadConfig } from "../src/config.ts";
import { VAULT_ENV, vaultFlags } from "../src/permissions.ts";

let config;
try {
  config = loadConfig({
    args: Deno.args,
    env: (n) => Deno.env.get(n),
    readFile: Deno.readTextFileSync,
    cwd: Deno.cwd(),
  });
} catch (e) {
  if (e instanceof ConfigError) {
    for (const line of e.lines) console.error(`amber: ${line}`);
    Deno.exit(1);
  }
  throw e;
}
const main = new URL("../main.ts", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", ...vaultFlags(config), main, ...Deno.args],
  env: { ...VAULT_ENV },
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => child.kill(sig));
}
Deno.exit((await child.status).code);
