/**
 * Replacing a small file durably: write a temp file, fsync it, rename it over
 * the target, fsync the directory. A crash leaves the old file or the new
 * one, never a torn one.
 *
 * @module
 */

/**
 * Writes `text` to `path` durably.
 *
 * @param path Target file.
 * @param text Its new content.
 * @param mode File mode of a newly created file.
 */
export function writeFileDurably(path: string, text: string, mode?: number): void {
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, text, mode === undefined ? {} : { mode });
  const f = Deno.openSync(tmp, { read: true, write: true });
  try {
    f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, path);
  const dir = Deno.openSync(path.slice(0, path.lastIndexOf("/")) || "/", { read: true });
  try {
    dir.syncSync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
  } finally {
    dir.close();
  }
}
