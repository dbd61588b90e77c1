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
  type ScrubRequest,
  type ScrubResults,
  type StoreRequest,
  type StoreResults,
} from "../channel/mod.ts";
import { log, setLogLevel, VaultMetrics } from "../ops/mod.ts";
import type { LogLevel } from "../ops/mod.ts";
import { createApp } from "./app.ts";

declare const self: Worker & { close(): void };

// A stray rejection must not take the Worker (and with it the vault) down.
globalThis.addEventListener("unhandledrejection", (e: PromiseRejectionEvent) => {
  e.preventDefault();
  console.error(
    JSON.stringify({ level: "error", msg: "Unhandled rejection", error: String(e.reason) }),
  );
});

/** The message main sends to start the router. */
export interface RouterInit {
  host: string;
  port: number;
  region: string;
  domain: string;
  logLevel: LogLevel;
  credentials: { accessKey: string; secretKey: string }[];
  meta: MessagePort;
  store: MessagePort;
  /** Port to the scrubber (`/admin/scrub`, scrub metrics). */
  scrub?: MessagePort;
}

let server: Deno.HttpServer | undefined;

self.addEventListener("message", async (e: MessageEvent) => {
  const msg = e.data as { type: "init"; init: RouterInit } | { type: "shutdown" };
  if (msg.type === "shutdown") {
    await server?.shutdown();
    self.postMessage({ type: "stopped" });
    return;
  }
  const init = msg.init;
  setLogLevel(init.logLevel);
  const secrets = new Map(init.credentials.map((c) => [c.accessKey, c.secretKey]));
  const app = createApp({
    meta: new Client<MetaRequest, MetaResults>(init.meta),
    store: new Client<StoreRequest, StoreResults>(init.store),
    scrub: init.scrub && new Client<ScrubRequest, ScrubResults>(init.scrub),
    metrics: new VaultMetrics(),
    region: init.region,
    domain: init.domain,
    lookupSecret: (k) => secrets.get(k),
    now: () => Date.now(),
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
    }, app.fetch);
  } catch (err) {
    self.postMessage({
      type: "failed",
      message: `Cannot listen on ${init.host}:${init.port}: ${(err as Error).message}`,
    });
  }
});
