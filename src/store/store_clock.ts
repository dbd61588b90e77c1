/**
 * The store's clock for chunk ages, write sessions and the collection
 * cutoff: wall time at start, then moved by the monotonic clock only. A
 * system clock stepped back would make chunks an open upload just wrote look
 * older than the upload, and the collector would take them from under it; a
 * step forward would age every chunk at once. Across a restart the wall clock
 * is read again: a chunk touched "in the future" only looks younger (kept
 * longer).
 *
 * @module
 */

const wallAtStart = Date.now();
const monotonicAtStart = performance.now();

/** Now, ms since the epoch, moving with the monotonic clock since the store started. */
export function storeNow(): number {
  return wallAtStart + (performance.now() - monotonicAtStart);
}
