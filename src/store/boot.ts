/**
 * The chunk store at start-up: opening the vault (its key hierarchy) and the
 * Worker's entry module.
 *
 * The start-up surface `main.ts` loads before the Workers start: kept to the
 * few light modules it needs, so the main isolate does not hold every area's
 * code (see tools/check_imports.ts). Everything here is also exported by
 * `mod.ts`.
 *
 * @module
 */

export { StoreError } from "./errors.ts";
export { DEMO_VAULT_KEY } from "./keys.ts";
export { openVault, secretSealer, tryLockVault } from "./vault.ts";
export type { StoreInit } from "./worker.ts";

/** URL of the store Worker's entry module. */
export const STORE_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
