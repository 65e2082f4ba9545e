/**
 * Runs async sections one at a time. Evidence goes through shared pseudo-files (write report data,
 * then read the quote), so two overlapping requests could each read a quote over the other's data.
 */
export class Exclusive {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
