/**
 * Polls `check` until it returns a truthy value (or stops throwing), then returns that value.
 * Integration tests use this instead of fixed sleeps: they wait for a state, not for a time.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      // A function message is read at the timeout, so it can name the last state seen.
      const message = typeof options.message === 'function' ? options.message() : options.message;
      throw new Error(`waitFor timed out after ${timeoutMs} ms${message ? ` (${message})` : ''}${why}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
