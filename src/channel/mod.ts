/**
 * Typed channels between the vault's Workers: the message protocol and the
 * request/response transport.
 *
 * @module
 */

export * from "./protocol.ts";
export type * from "./policy.ts";
export { ChannelError, Client, serve } from "./port.ts";
export { CHURN_GC_BYTES, noteBufferChurn } from "./churn.ts";
export { Budget } from "./budget.ts";
export { reportStopped, startWorker } from "./worker_life.ts";
export type { Endpoint, Handled } from "./port.ts";

import type {
  MetaRequest,
  MetaResults,
  ScrubRequest,
  ScrubResults,
  StoreRequest,
  StoreResults,
} from "./protocol.ts";
import { Client } from "./port.ts";

/** Client of the index Worker. */
export type MetaClient = Client<MetaRequest, MetaResults>;
/** Client of the chunk-store Worker. */
export type StoreClient = Client<StoreRequest, StoreResults>;
/** Client of the scrubber Worker. */
export type ScrubClient = Client<ScrubRequest, ScrubResults>;
