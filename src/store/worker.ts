/**
 * Entry point of the chunk-store Worker: holds the data dir, no network.
 *
 * @module
 */

import {
  Client,
  type MetaRequest,
  type MetaResults,
  reportStopped,
  serve,
  startWorker,
  type StoreRequest,
} from "../channel/mod.ts";
import { refuseUnlistedStore } from "./drives.ts";
import { storeErrorToWire, type StoreKeys, StoreService } from "./service.ts";

startWorker();

/** The message main sends to start the store. */
export interface StoreInit {
  type: "init";
  dataDir: string;
  keys: StoreKeys;
  /** Ports on which to serve store requests. */
  ports: MessagePort[];
  /** Port to the index, for garbage collection. */
  meta: MessagePort;
  gcIntervalMs: number;
  gcGraceMs: number;
  /** Drive paths in slot order. */
  drives: string[];
  /** Erasure coding geometry. */
  ec: { k: number; m: number };
  /** Rebuild rate of a replaced drive, bytes per second. */
  rebuildBytesPerSecond: number;
}

declare const self: Worker & { close(): void };

let service: StoreService | undefined;

self.addEventListener("message", async (e: MessageEvent) => {
  const msg = e.data as StoreInit | { type: "shutdown" };
  if (msg.type === "shutdown") {
    await reportStopped("store", async () => await service?.close());
    return;
  }
  try {
    const meta = new Client<MetaRequest, MetaResults>(msg.meta);
    refuseUnlistedStore(msg.dataDir, msg.drives);
    service = await StoreService.open(`${msg.dataDir}/store`, {
      keys: msg.keys,
      drives: msg.drives,
      ec: msg.ec,
      owedPath: `${msg.dataDir}/owed-shards.db`,
      watch: { rebuildBytesPerSecond: msg.rebuildBytesPerSecond },
      gc: {
        intervalMs: msg.gcIntervalMs,
        graceMs: msg.gcGraceMs,
        referenced: async (ids) => (await meta.call({ type: "chunkRefs", ids })).referenced,
      },
    });
    for (const port of msg.ports) {
      serve<StoreRequest>(port, (req) => service!.handle(req), storeErrorToWire);
    }
    self.postMessage({ type: "ready" });
  } catch (err) {
    self.postMessage({ type: "failed", message: (err as Error).message });
  }
});
