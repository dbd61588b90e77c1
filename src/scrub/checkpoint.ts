/**
 * The scrubber's checkpoint file: JSON, replaced atomically (temp file,
 * fsync, rename), so a crash leaves the old or the new one.
 *
 * @module
 */

import type { CheckpointStore, ScrubCheckpoint } from "./scrubber.ts";

/**
 * A checkpoint kept in one file.
 *
 * @param path The file (the scrub Worker may write only it and `<path>.tmp`).
 * @returns Its load and save.
 */
export function fileCheckpoint(path: string): CheckpointStore {
  return {
    load(): ScrubCheckpoint | undefined {
      try {
        return JSON.parse(Deno.readTextFileSync(path)) as ScrubCheckpoint;
      } catch {
        // Missing or unreadable: start afresh; a scrub pass loses nothing by starting over.
        return undefined;
      }
    },
    save(c: ScrubCheckpoint): void {
      const tmp = `${path}.tmp`;
      const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
      try {
        f.writeSync(new TextEncoder().encode(JSON.stringify(c)));
        f.syncSync();
      } finally {
        f.close();
      }
      Deno.renameSync(tmp, path);
    },
  };
}
