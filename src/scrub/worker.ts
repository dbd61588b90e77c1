/**
 * Entry point of the scrubber Worker: reads the drives and the index
 * (read-only), writes only its checkpoint file, and repairs through the
 * store over its channel.
 *
 * @module
 */

import {
  Client,
  reportStopped,
  type ScrubRequest,
  serve,
  startWorker,
  type StoreRequest,
  type StoreResults,
  type WireError,
} from "../channel/mod.ts";
import { SCRUB_CHECKPOINT_FILE } from "../permissions.ts";
import { fileCheckpoint } from "./checkpoint.ts";
import { Scrubber } from "./scrubber.ts";

startWorker();

/** The message main sends to start the scrubber. */
export interface ScrubInit {
  type: "init";
  dataDir: string;
  /** Drive paths in slot order. */
  drives: string[];
  /** Key that opens sealed chunks (AEAD check). */
  sealKey: Uint8Array;
  /** Key that opens the tiny object bodies kept in the index. */
  inlineKey: Uint8Array;
  /** A full pass is due this often, seconds. */
  intervalSeconds: number;
  /** Rate cap, bytes per second; 0 derives it from the interval. */
  rateBytesPerSecond: number;
  /** Port to the store: repairs and busy pings. */
  store: MessagePort;
  /** Ports on which to serve scrub requests (the router). */
  ports: MessagePort[];
}

declare const self: Worker & { close(): void };

let scrubber: Scrubber | undefined;

function toWire(e: unknown): WireError {
  return { area: "internal", kind: "internal", message: (e as Error).message ?? String(e) };
}

self.addEventListener("message", async (e: MessageEvent) => {
  const msg = e.data as ScrubInit | { type: "shutdown" };
  if (msg.type === "shutdown") {
    await reportStopped("scrubber", async () => {
      await scrubber?.close();
    });
    return;
  }
  try {
    const store = new Client<StoreRequest, StoreResults>(msg.store);
    scrubber = new Scrubber({
      dataDir: msg.dataDir,
      drives: msg.drives,
      sealKey: msg.sealKey,
      inlineKey: msg.inlineKey,
      intervalSeconds: msg.intervalSeconds,
      rateBytesPerSecond: msg.rateBytesPerSecond,
      repair: (id, bad) => store.call({ type: "repairChunk", id, bad }),
      ping: async () => {
        const t = performance.now();
        await store.call({ type: "ping" });
        return performance.now() - t;
      },
      checkpoint: fileCheckpoint(`${msg.dataDir}/${SCRUB_CHECKPOINT_FILE}`),
    });
    for (const port of msg.ports) {
      serve<ScrubRequest>(port, (req) => {
        const s = scrubber!;
        return { result: req.type === "scrubStatus" ? s.status() : s.command(req.action) };
      }, toWire);
    }
    scrubber.schedule();
    self.postMessage({ type: "ready" });
  } catch (err) {
    self.postMessage({ type: "failed", message: (err as Error).message });
  }
});
