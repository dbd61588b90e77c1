/**
 * Entry point of the router Worker: the only part of the vault that holds
 * the network, and it holds no access to the data dir.
 *
 * @module
 */

import {
  Client,
  type MetaRequest,
  type MetaResults,
  reportStopped,
  type ScrubRequest,
  type ScrubResults,
  startWorker,
  type StoreRequest,
  type StoreResults,
} from "../channel/mod.ts";
import { log, setLogLevel, VaultMetrics, within } from "../ops/mod.ts";
import type { LogLevel, SignalThresholds } from "../ops/mod.ts";
import { createApp } from "./app.ts";
import { KeyDirectory } from "./key_directory.ts";
import { SignalMonitor } from "./signals.ts";

startWorker();

declare const self: Worker & { close(): void };

/** The message main sends to start the router. */
export interface RouterInit {
  host: string;
  port: number;
  region: string;
  domain: string;
  logLevel: LogLevel;
  /** The root credential; managed keys come from the index. */
  root: { accessKey: string; secretKey: string };
  /** Token for `/admin/*`, when configured. */
  adminToken?: string;
  /** Ransomware-signal thresholds that differ from the defaults. */
  signalThresholds?: Partial<SignalThresholds>;
  /** The vault's id, hex: `/healthz` names it for approvers (approvals are bound to it). */
  vaultId: string;
  meta: MessagePort;
  store: MessagePort;
  /** Port to the scrubber (`/admin/scrub`, scrub metrics). */
  scrub?: MessagePort;
}

let server: Deno.HttpServer | undefined;
let signals: SignalMonitor | undefined;

/**
 * Longest wait on stopping for the requests under way to end (an upload whose body is still
 * coming), ms: under the 120 s systemd and Kubernetes give a stop before they kill.
 */
const DRAIN_MS = 100_000;

/**
 * The requests under way, so a stop lets them end: Deno's `shutdown()` waits for responses but
 * cuts off request bodies still being read, which would fail an upload the client is sending.
 */
const requests = {
  inFlight: 0,
  draining: false,
  idle: Promise.withResolvers<void>(),
  ended() {
    if (--this.inFlight === 0 && this.draining) this.idle.resolve();
  },
};

self.addEventListener("message", async (e: MessageEvent) => {
  const msg = e.data as { type: "init"; init: RouterInit } | { type: "shutdown" };
  if (msg.type === "shutdown") {
    await reportStopped("router", async () => {
      requests.draining = true;
      if (requests.inFlight > 0) {
        log("info", "Waiting for the requests under way", { requests: requests.inFlight });
        await within(requests.idle.promise, DRAIN_MS);
      }
      await server?.shutdown();
      await signals?.close();
    });
    return;
  }
  const init = msg.init;
  setLogLevel(init.logLevel);
  const meta = new Client<MetaRequest, MetaResults>(init.meta);
  const store = new Client<StoreRequest, StoreResults>(init.store);
  const metrics = new VaultMetrics();
  try {
    signals = new SignalMonitor({
      meta,
      registry: metrics.registry,
      thresholds: init.signalThresholds,
      state: await SignalMonitor.loadState(meta),
    });
  } catch (err) {
    self.postMessage({ type: "failed", message: (err as Error).message });
    return;
  }
  const app = createApp({
    meta,
    store,
    metrics,
    signals,
    scrub: init.scrub && new Client<ScrubRequest, ScrubResults>(init.scrub),
    region: init.region,
    domain: init.domain,
    keys: new KeyDirectory({ root: init.root, meta, store }),
    adminToken: init.adminToken,
    vaultId: init.vaultId,
    now: () => Date.now(),
    draining: () => requests.draining,
  });
  try {
    server = Deno.serve({
      hostname: init.host,
      port: init.port,
      onListen: ({ hostname, port }) => {
        log("info", "Listening", { address: `http://${hostname}:${port}` });
        self.postMessage({ type: "ready", port });
      },
      onError: (err) => {
        log("error", "Unhandled server error", { error: String(err) });
        return new Response("Internal error", { status: 500 });
      },
    }, async (req, info) => {
      requests.inFlight++;
      try {
        return await app.fetch(req, info);
      } finally {
        requests.ended();
      }
    });
  } catch (err) {
    self.postMessage({
      type: "failed",
      message: `Cannot listen on ${init.host}:${init.port}: ${(err as Error).message}`,
    });
  }
});
