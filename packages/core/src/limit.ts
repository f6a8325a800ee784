/**
 * `fn` over `items`, at most `n` calls at a time, results in the items' order. For I/O-bound work
 * over many files (attribute reads, uploads, deletes): concurrent enough to overlap the waits,
 * bounded so thousands of inputs never hold thousands of open files. Rejects with the first error;
 * calls already running finish, no new one starts.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  n: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  return out;
}
