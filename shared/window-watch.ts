/**
 * "Window closing" events: a settable time before a user's reply window
 * closes (24 h after their last message, §10), so a bot can ask them to
 * write while it still may send. One timer per user with an open window,
 * on the injectable clock; a new message from the user moves it.
 */
import type { Clock } from './clock';
import type { ReplyWindow } from './reply-window';

export interface WindowClosingOptions {
  /** How long before the window closes the event fires (ms). */
  leadMs: number;
  onClosing(window: ReplyWindow): void;
}

export class WindowClosingWatch {
  private readonly timers = new Map<string, AbortController>();

  constructor(
    private readonly windowOf: (userId: string) => ReplyWindow,
    private readonly clock: Clock,
    private readonly options: WindowClosingOptions,
  ) {
    if (!Number.isFinite(options.leadMs) || options.leadMs < 0) throw new RangeError(`windowClosing.leadMs must be a duration in ms, got ${options.leadMs}`);
  }

  /** (Re)schedules the event for this user's current window; nothing when it is closed or unknown. */
  watch(userId: string): void {
    this.timers.get(userId)?.abort();
    this.timers.delete(userId);
    const window = this.windowOf(userId);
    if (!window.known || window.closedBy === 'time' || window.closesAt === undefined) return;
    const closesAt = window.closesAt;
    const timer = new AbortController();
    this.timers.set(userId, timer);
    const delay = Math.max(0, closesAt - this.options.leadMs - this.clock.now());
    this.clock.sleep(delay, timer.signal).then(
      () => {
        if (this.timers.get(userId) !== timer) return;
        this.timers.delete(userId);
        const current = this.windowOf(userId);
        // Still the same window (the user has not written since), and not closed yet.
        if (current.closesAt === closesAt && this.clock.now() < closesAt) this.options.onClosing(current);
      },
      () => undefined,
    );
  }

  stop(): void {
    for (const timer of this.timers.values()) timer.abort();
    this.timers.clear();
  }
}
