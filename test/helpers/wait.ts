/**
 * Resolves once `cond()` holds, polling every few milliseconds; rejects naming
 * `what` after `timeoutMs`. The limit is generous on purpose: it only ends a
 * test that would otherwise hang, and the assertions that follow say what
 * went wrong.
 */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
