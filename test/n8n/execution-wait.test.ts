import { waitAtMost } from '../../nodes/WeChatIlinkTrigger/execution-wait';

describe('waitAtMost (the trigger\'s wait for an execution)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('ends when the execution ends, succeeded or failed', async () => {
    await expect(waitAtMost(Promise.resolve(), 60_000, new AbortController().signal)).resolves.toBe('finished');
    await expect(waitAtMost(Promise.reject(new Error('run failed')), 60_000, new AbortController().signal)).resolves.toBe('finished');
  });

  it('gives up after the cap, and not before', async () => {
    const outcome = waitAtMost(new Promise(() => undefined), 60_000, new AbortController().signal);
    let settled: string | undefined;
    void outcome.then((o) => (settled = o));
    await jest.advanceTimersByTimeAsync(59_999);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(settled).toBe('timeout');
  });

  it('ends at once when the trigger closes, and leaves no timer behind', async () => {
    const closing = new AbortController();
    const outcome = waitAtMost(new Promise(() => undefined), 60_000, closing.signal);
    closing.abort();
    await expect(outcome).resolves.toBe('closed');
    expect(jest.getTimerCount()).toBe(0);
    await expect(waitAtMost(Promise.resolve(), 60_000, closing.signal)).resolves.toBe('closed');
  });
});
