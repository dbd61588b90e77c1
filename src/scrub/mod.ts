/**
 * The scrubber: reads every shard on every drive, checks checksums, AEAD
 * tags, references and reference counts, and asks the store to repair what
 * parity allows. Runs as its own Worker in the vault, or in-process on a
 * stopped vault (`deno task scrub`, `amber scrub`).
 *
 * @module
 */

export * from "./boot.ts";
export { type OfflineScrubOptions, scrubDataDir } from "./offline.ts";
export { printReport, runScrubCommand } from "./cli.ts";
