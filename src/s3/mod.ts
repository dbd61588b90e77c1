/**
 * The S3 router: SigV4, endpoint parsing, operations and rendering, served
 * from its own Worker.
 *
 * @module
 */

export type { RouterInit } from "./worker.ts";

/** URL of the router Worker's entry module. */
export const ROUTER_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
