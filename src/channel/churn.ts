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
 * The young generation is small (1 MiB semi-spaces), so under load the
 * objects of requests in flight outlive it and are promoted; V8 then lets old
 * space and the buffers it holds grow to several times the live size before
 * a full collection, in each of five isolates. {@linkcode watchHeap} runs one
 * whenever an isolate has grown by a few MiB since the last.
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

/** Interval of the heap check, ms. */
const HEAP_CHECK_MS = 100;
/** Growth of the V8 heap since the last full collection that triggers one. */
const HEAP_GROWTH_GC_BYTES = 12 * 1024 * 1024;
/** Growth of external (ArrayBuffer) memory since the last full collection that triggers one. */
const EXTERNAL_GROWTH_GC_BYTES = 8 * 1024 * 1024;

/**
 * Checks this isolate's heap ten times a second (about 8 µs each) and runs a full collection when
 * it grew past {@linkcode HEAP_GROWTH_GC_BYTES} (or its buffers past
 * {@linkcode EXTERNAL_GROWTH_GC_BYTES}) since the last one; each costs a few
 * ms on these small heaps. Does nothing when `gc` is not exposed.
 */
export function watchHeap(): void {
  if (!gc) return;
  let base = Deno.memoryUsage();
  const timer = setInterval(() => {
    const m = Deno.memoryUsage();
    if (
      m.heapUsed - base.heapUsed < HEAP_GROWTH_GC_BYTES &&
      m.external - base.external < EXTERNAL_GROWTH_GC_BYTES
    ) return;
    gc({ type: "major" });
    base = Deno.memoryUsage();
  }, HEAP_CHECK_MS);
  Deno.unrefTimer(timer);
}
