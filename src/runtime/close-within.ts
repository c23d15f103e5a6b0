/**
 * The end of a thread or process that was asked to close: waits up to `graceMs` for it to
 * exit by itself, then forces it, and resolves once it has exited.
 */
export async function closeWithin(exit: Promise<void>, graceMs: number, force: () => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  const result = await Promise.race([exit, grace]);
  clearTimeout(timer);
  if (result === 'late') force();
  await exit;
}
