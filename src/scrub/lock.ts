/**
 * The vault lock (see `tryLockVault` in the store): a running vault holds
 * it, and an offline `scrub --repair` takes it, so the two
 * never write one store at once.
 *
 * @module
 */

export { tryLockVault } from "../store/mod.ts";
