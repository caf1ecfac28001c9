/**
 * Every long poll and injected delay goes through here, so stop() can end
 * them all at once instead of leaving timers that keep the process alive.
 */
import type { ServerResponse } from 'node:http';

export type WaitOutcome = 'woken' | 'timeout' | 'closed' | 'stopped';

export class Waits {
  private readonly active = new Set<(outcome: WaitOutcome) => void>();
  private stopped = false;

  /**
   * Resolves when `subscribe` calls its wake callback, the timeout passes, the
   * client goes away (res 'close') or the simulator stops.
   */
  wait(options: { timeoutMs: number; res?: ServerResponse; subscribe?: (wake: () => void) => () => void }): Promise<WaitOutcome> {
    if (this.stopped) return Promise.resolve('stopped');
    return new Promise((resolve) => {
      let unsubscribe: (() => void) | undefined;
      const finish = (outcome: WaitOutcome): void => {
        if (!this.active.delete(finish)) return;
        clearTimeout(timer);
        unsubscribe?.();
        options.res?.off('close', onClose);
        resolve(outcome);
      };
      const onClose = (): void => finish('closed');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, options.timeoutMs));
      this.active.add(finish);
      options.res?.on('close', onClose);
      unsubscribe = options.subscribe?.(() => finish('woken'));
      // A synchronous wake finished before unsubscribe existed: drop the subscription now.
      if (!this.active.has(finish)) unsubscribe?.();
    });
  }

  delay(ms: number, res?: ServerResponse): Promise<WaitOutcome> {
    return this.wait({ timeoutMs: ms, res });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stopAll(): void {
    this.stopped = true;
    for (const finish of [...this.active]) finish('stopped');
  }
}
