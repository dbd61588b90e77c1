/**
 * The start and the end of a Worker's life, the same in every Worker.
 *
 * @module
 */

import { watchHeap } from "./churn.ts";

/**
 * Starts a Worker's guards: a stray promise rejection is logged as one JSON
 * line instead of taking the Worker (and with it the vault) down, and the
 * heap is watched ({@linkcode watchHeap}).
 */
export function startWorker(): void {
  watchHeap();
  globalThis.addEventListener("unhandledrejection", (e: PromiseRejectionEvent) => {
    e.preventDefault();
    console.error(
      JSON.stringify({ level: "error", msg: "Unhandled rejection", error: String(e.reason) }),
    );
  });
}

/**
 * Waits for a Worker's close, logs its failure as one JSON line, and reports
 * `stopped` to main either way: main waits for that message, so a close that
 * threw would otherwise leave the vault hanging on SIGTERM. (Every write was
 * made durable before it was acknowledged, so exiting after a failed close
 * loses nothing acknowledged.)
 *
 * @param what The Worker's part, for the log line ("store", "index", …).
 * @param close Stops its work and closes its files.
 */
export async function reportStopped(what: string, close: () => Promise<unknown>): Promise<void> {
  await close().catch((err) =>
    console.error(
      JSON.stringify({ level: "error", msg: `Cannot close the ${what}`, error: String(err) }),
    )
  );
  (self as unknown as { postMessage(m: unknown): void }).postMessage({ type: "stopped" });
}
