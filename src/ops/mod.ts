/**
 * Operations: metrics, logs and health.
 *
 * @module
 */

export { VaultMetrics } from "./metrics.ts";
export { log, setLogLevel } from "./log.ts";
export type { LogLevel } from "./log.ts";
