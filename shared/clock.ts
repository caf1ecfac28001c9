/**
 * Time as a dependency, so that backoff, pauses and typing keepalives can be
 * tested with a manual clock instead of real sleeps.
 */
import { abortError } from './transport';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with an AbortError when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * A clock that only moves when told to. `advance(ms)` runs every sleep whose
 * time has come, in order; `pendingSleeps` lets a test wait until the code
 * under test is asleep.
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: Array<{ until: number; resolve: () => void; ms: number }> = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const sleeper = { until: this.current + ms, resolve, ms };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(abortError(signal));
        },
        { once: true },
      );
    });
  }

  /** Durations of the sleeps currently waiting, in the order they began. */
  get pendingSleeps(): number[] {
    return this.sleepers.map((s) => s.ms);
  }

  advance(ms: number): void {
    this.current += ms;
    const due = this.sleepers.filter((s) => s.until <= this.current).sort((a, b) => a.until - b.until);
    this.sleepers = this.sleepers.filter((s) => s.until > this.current);
    for (const sleeper of due) sleeper.resolve();
  }

  /** Waits (in real time, briefly) until some code is asleep on this clock. */
  async waitForSleep(count = 1, timeoutMs = 5000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.sleepers.length < count) {
      if (Date.now() > deadline) throw new Error(`ManualClock: expected ${count} pending sleep(s), saw ${this.sleepers.length}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return this.pendingSleeps;
  }
}
