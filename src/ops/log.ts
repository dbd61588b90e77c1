/**
 * Structured JSON log lines, one object per line on stdout (stderr for
 * warnings and errors), carrying the request id where there is one.
 *
 * @module
 */

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

let threshold: LogLevel = "info";

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/**
 * Writes one log line.
 *
 * @param level Severity.
 * @param msg Sentence-case message.
 * @param fields Extra fields (for example `requestId`).
 */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (ORDER[level] >= ORDER.warn) console.error(line);
  else console.log(line);
}
