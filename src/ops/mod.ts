/**
 * Operations: metrics, logs and health.
 *
 * @module
 */

export { VaultMetrics } from "./metrics.ts";
export * from "./boot.ts";
export type { LogLevel } from "./log.ts";
export { DEFAULT_THRESHOLDS, SIGNAL_NAMES, SignalDetector } from "./signals.ts";
export type {
  SignalAlert,
  SignalEvent,
  SignalName,
  SignalState,
  SignalThresholds,
} from "./signals.ts";
