/**
 * The scrubber at start-up: the Worker's entry module.
 *
 * The start-up surface `main.ts` loads before the Workers start: kept to the
 * few light modules it needs, so the main isolate does not hold every area's
 * code (see tools/check_imports.ts). Everything here is also exported by
 * `mod.ts`.
 *
 * @module
 */

/** URL of the scrubber Worker's entry module. */
export const SCRUB_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
export type { ScrubInit } from "./worker.ts";
