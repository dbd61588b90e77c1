/**
 * The index at start-up: the audit signing key's public half and the
 * Worker's entry module.
 *
 * The start-up surface `main.ts` loads before the Workers start: kept to the
 * few light modules it needs, so the main isolate does not hold every area's
 * code (see tools/check_imports.ts). Everything here is also exported by
 * `mod.ts`.
 *
 * @module
 */

export { auditSigner } from "./audit_seal.ts";

/** URL of the index Worker's entry module. */
export const META_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
