/**
 * Small file-system questions the Workers ask at start-up.
 *
 * @module
 */

/**
 * Whether something exists at `path` (a dangling symlink counts).
 *
 * @param path The path.
 * @returns False only when nothing is there; other errors (a permission) are thrown.
 */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
