/**
 * Waiting with a deadline.
 *
 * @module
 */

/**
 * Waits for `p`, but no longer than `ms`.
 *
 * @param p What to wait for (it goes on after a deadline; its rejection still rejects).
 * @param ms The longest wait.
 * @returns Its value, or `late` when the deadline came first.
 */
export async function within<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ late: false; value: T } | { late: true }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<{ late: true }>((r) =>
    timer = setTimeout(() => r({ late: true }), ms)
  );
  try {
    return await Promise.race([p.then((value) => ({ late: false as const, value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
