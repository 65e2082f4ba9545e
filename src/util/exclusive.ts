/**
 * Runs async sections one at a time, in call order; a failed section does not stop the next. Used
 * where overlapping sections would interleave badly: TEE evidence goes through shared pseudo-files
 * (write report data, then read the quote), and keymanager imports and deletes of one key must not
 * both run, nor interleave with a keystore-directory reload.
 */
export class Exclusive {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
