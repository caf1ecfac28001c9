/**
 * Runs work per user: each user's items one at a time and in order, different
 * users side by side up to a limit. A user who has waited longest gets the
 * next free slot, and a user with a backlog gives the slot up after each item,
 * so one busy or slow user never holds up the others.
 */
export class UserLanes<T> {
  private readonly queues = new Map<string, T[]>();
  /** Users with queued items that are not running, in the order they became ready. */
  private readonly ready: string[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private count = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly work: (item: T) => Promise<void>,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the concurrency limit must be a whole number of at least 1, got ${limit}`);
  }

  /** Items queued or running. */
  get pending(): number {
    return this.count;
  }

  push(user: string, item: T): void {
    if (this.closed) return;
    let queue = this.queues.get(user);
    if (!queue) {
      queue = [];
      this.queues.set(user, queue);
    }
    queue.push(item);
    this.count++;
    if (queue.length === 1 && !this.running.has(user)) this.ready.push(user);
    this.pump();
  }

  /** Resolves once fewer than `limit` items are pending (or at once when that is already so). */
  whenBelow(limit: number, signal?: AbortSignal): Promise<void> {
    if (this.count < limit || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.count < limit || signal?.aborted) {
          this.waiters = this.waiters.filter((waiter) => waiter !== check);
          signal?.removeEventListener('abort', check);
          resolve();
        }
      };
      this.waiters.push(check);
      signal?.addEventListener('abort', check, { once: true });
    });
  }

  /**
   * Starts nothing more and waits for the running items, at most `graceMs`.
   * Queued items are dropped (the caller keeps them elsewhere); returns the
   * number of items still running when the grace ran out.
   */
  async close(graceMs: number): Promise<number> {
    this.closed = true;
    this.queues.clear();
    this.ready.length = 0;
    this.count = this.running.size;
    if (this.running.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(this.running.values()), graceOver]);
    clearTimeout(timer);
    return this.running.size;
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.limit && this.ready.length > 0) {
      const user = this.ready.shift() as string;
      this.running.set(user, this.runOne(user));
    }
  }

  private async runOne(user: string): Promise<void> {
    const queue = this.queues.get(user) as T[];
    const item = queue.shift() as T;
    try {
      await this.work(item);
    } catch {
      // work() reports its own failures; a lane never stops on one.
    } finally {
      this.count--;
      this.running.delete(user);
      if (queue.length > 0 && !this.closed) this.ready.push(user);
      else if (queue.length === 0) this.queues.delete(user);
      for (const waiter of [...this.waiters]) waiter();
      this.pump();
    }
  }
}
