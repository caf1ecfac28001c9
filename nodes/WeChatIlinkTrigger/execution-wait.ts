/** How the trigger waits for an execution with Processing "One at a Time". */

/** The longest wait for an execution before the next message starts anyway. */
export const EXECUTION_WAIT_MS = 60_000;

export type WaitOutcome = 'finished' | 'timeout' | 'closed';

/** Resolves 'finished' when `work` settles (either way), 'timeout' after `ms`, or 'closed' when `signal` aborts. */
export function waitAtMost(work: Promise<unknown>, ms: number, signal: AbortSignal): Promise<WaitOutcome> {
  if (signal.aborted) return Promise.resolve('closed');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('timeout'), ms);
    const onAbort = () => finish('closed');
    function finish(outcome: WaitOutcome) {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => finish('finished'),
      () => finish('finished'),
    );
  });
}
