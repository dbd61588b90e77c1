/**
 * The scrubber: reads every shard on every drive, checks checksums, AEAD
 * tags, references and reference counts, and asks the store to repair what
 * parity allows. Runs as its own Worker in the vault, or in-process on a
 * stopped vault (`deno task scrub`, `amber scrub`).
 *
 * @module
 */

/** URL of the scrubber Worker's entry module. */
export const SCRUB_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
export type { ScrubInit } from "./worker.ts";
export { type OfflineScrubOptions, scrubDataDir } from "./offline.ts";
export { printReport, runScrubCommand } from "./cli.ts";
