/**
 * Units and the progress log shared by the bench tools.
 *
 * @module
 */

/** 2^20 bytes. */
export const MIB = 1024 * 1024;
/** 10^6 bytes: the unit of every MB/s figure. */
export const MB = 1e6;

/** A row of the bench table. */
export interface Row {
  figure: string;
  value: string;
  target: string;
  ratio: string;
  pass: "pass" | "FAIL" | "";
  rgw: string;
}

/** Name and value pairs as aligned, indented lines. */
export function nameValueLines(pairs: string[][]): string {
  return pairs.map(([k, v]) => `  ${k.padEnd(62)} ${v.padStart(12)}`).join("\n");
}

/** Prints a progress line on stderr, stamped with seconds since start. */
export function log(line: string): void {
  console.error(`[bench ${(performance.now() / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

/** Runs `count` tasks with at most `streams` in flight. */
export async function pool(
  streams: number,
  count: number,
  task: (i: number) => Promise<void>,
  deadline = Infinity,
): Promise<number> {
  let next = 0;
  let done = 0;
  async function lane() {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      await task(i);
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(streams, count) }, lane));
  return done;
}
