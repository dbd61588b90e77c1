/**
 * Prompt release of transferred buffers.
 *
 * Chunk bytes cross Workers as transferred `ArrayBuffer`s, so every GB moved
 * leaves a GB of dead buffers behind whose tiny JS wrappers barely fill the
 * young generation; V8 then collects them only after tens of MB of external
 * memory pile up in each isolate. The vault runs with `--expose-gc` (see
 * `src/permissions.ts`) so each Worker can ask for a cheap minor collection
 * after every {@linkcode CHURN_GC_BYTES} it hands off, which keeps the
 * process's peak RSS near its working set.
 *
 * @module
 */

/** Bytes of transferred buffers between minor collections. */
export const CHURN_GC_BYTES = 4 * 1024 * 1024;

const gc =
  (globalThis as { gc?: (opts?: { type: "minor" | "major"; execution?: "sync" }) => void }).gc;
let churned = 0;

/**
 * Records `bytes` of buffers this isolate is done with, collecting the young
 * generation once enough have accumulated (when `gc` is exposed).
 *
 * @param bytes Size of the buffers just handed off or dropped.
 */
export function noteBufferChurn(bytes: number): void {
  churned += bytes;
  if (churned < CHURN_GC_BYTES) return;
  churned = 0;
  gc?.({ type: "minor" });
}
