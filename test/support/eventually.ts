/**
 * Polls `probe` until it returns something other than undefined (or false), and resolves with
 * it; rejects after `timeoutMs` naming `what`. For conditions with no event to wait on (an
 * external process's state); the deadline is a bound, never the synchronisation itself.
 */
export async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
