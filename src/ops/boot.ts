/**
 * Operations at start-up: the log.
 *
 * The start-up surface `main.ts` loads before the Workers start: kept to the
 * few light modules it needs, so the main isolate does not hold every area's
 * code (see tools/check_imports.ts). Everything here is also exported by
 * `mod.ts`.
 *
 * @module
 */

export { log, setLogLevel } from "./log.ts";
export { pathExists } from "./fs.ts";
export { within } from "./timing.ts";
