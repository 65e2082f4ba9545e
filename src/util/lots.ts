/**
 * Calls `fn` on `items` one lot of `size` at a time, the whole lot at once, and yields each lot's
 * items with their settled results, in order: I/O or thread round trips overlap without thousands
 * being started together, and a failure is the caller's to weigh with the rest of its lot.
 */
export async function* settledInLots<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T) => R | Promise<R>,
): AsyncGenerator<Array<[T, PromiseSettledResult<Awaited<R>>]>> {
  for (let i = 0; i < items.length; i += size) {
    const lot = items.slice(i, i + size);
    const settled = await Promise.allSettled(lot.map((item) => fn(item)));
    yield lot.map((item, j) => [item, settled[j]!]);
  }
}
