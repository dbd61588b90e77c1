/**
 * Entry point of the index Worker: opens the SQLite index in the data dir and
 * serves {@linkcode MetaRequest}s on the ports main hands it. Holds the data
 * dir, no network.
 *
 * @module
 */

import {
  Client,
  type MetaRequest,
  reportStopped,
  serve,
  startWorker,
  type StoreRequest,
  type StoreResults,
} from "../channel/mod.ts";
import { pathExists } from "../ops/mod.ts";
import { metaErrorToWire, MetaService } from "./service.ts";
import { auditSigner } from "./audit_seal.ts";
import { inlineSealer } from "../inline_body.ts";
import { fourEyesConfig, type FourEyesSettings } from "./four_eyes.ts";

startWorker();

declare const self: Worker & { close(): void };

let service: MetaService | undefined;

self.addEventListener("message", async (e: MessageEvent) => {
  const msg = e.data as {
    type: "init";
    dataDir: string;
    ports: MessagePort[];
    maxClockJumpMs: number;
    uploadExpiryMs: number;
    indexKey: Uint8Array;
    inlineKey: Uint8Array;
    fourEyes: FourEyesSettings;
    /** Port to the store, for the index journal and checkpoints. */
    store: MessagePort;
    checkpointIntervalMs: number;
  } | {
    type: "shutdown";
  };
  if (msg.type === "shutdown") {
    await reportStopped("index", async () => await service?.close());
    return;
  }
  const path = `${msg.dataDir}/meta/index.db`;
  let existed = true;
  try {
    Deno.mkdirSync(`${msg.dataDir}/meta`, { recursive: true });
    existed = pathExists(path);
    service = new MetaService(path, {
      maxClockJumpMs: msg.maxClockJumpMs,
      uploadExpiryMs: msg.uploadExpiryMs,
      auditSigner: auditSigner(msg.indexKey),
      inlineSealer: inlineSealer(msg.inlineKey),
      fourEyes: fourEyesConfig(msg.fourEyes),
      onClockAlert: (message) =>
        console.error(JSON.stringify({ level: "warn", msg: message, alert: "clock" })),
      journal: {
        store: new Client<StoreRequest, StoreResults>(msg.store),
        checkpointIntervalMs: msg.checkpointIntervalMs,
      },
    });
    await service.startJournal();
    for (const port of msg.ports) {
      serve<MetaRequest>(port, (req) => service!.handle(req), metaErrorToWire);
    }
    self.postMessage({ type: "ready" });
  } catch (err) {
    // An index this start created (its own was lost) goes again: rebuild-index is what comes next.
    if (!existed) {
      await service?.abandon().catch(() => undefined);
      for (const suffix of ["", "-wal", "-shm"]) {
        if (pathExists(path + suffix)) Deno.removeSync(path + suffix);
      }
    }
    self.postMessage({ type: "failed", message: (err as Error).message });
  }
});
