/**
 * Runs an async task on request, never two runs at once. A request while a run is in progress
 * queues one more run after it, shared by every request made meanwhile: whatever changed before the
 * last request is seen by a run that starts after it, and a burst of requests costs two runs, not
 * one each. Used for reloading the keystore directory (POST /reload, SIGHUP).
 *
 * The task should handle its own errors: a rejection reaches only the callers of request().
 */
export class Coalesced {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly task: () => Promise<void>) {}

  /** Settles when a run that started after this call has finished. */
  request(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const next = () => {
      this.queued = undefined;
      return this.start();
    };
    this.queued = this.running.then(next, next);
    return this.queued;
  }

  /** Resolves once no run is in progress or queued (closing waits for it). */
  async idle(): Promise<void> {
    for (let pending = this.queued ?? this.running; pending; pending = this.queued ?? this.running) {
      await pending.catch(() => undefined);
    }
  }

  private start(): Promise<void> {
    const run: Promise<void> = this.task().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
