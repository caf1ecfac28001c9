/**
 * The simulator's rule clock: the time the sending rules of §10 (reply
 * window, budget, rate limit) read, so tests move it forward instead of
 * waiting. It is the injected base clock (options.clock, default Date.now)
 * plus an offset that admin.advanceClock adds to. Inbound messages'
 * create_time_ms uses it too (the time their window starts); timeline times,
 * long polls, typing and QR codes keep the real clock.
 */

export interface ClockSource {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const SYSTEM_CLOCK: ClockSource = { now: () => Date.now() };

export class SimClock implements ClockSource {
  private offset = 0;

  constructor(private readonly base: ClockSource = SYSTEM_CLOCK) {}

  now(): number {
    return this.base.now() + this.offset;
  }

  /** How far advanceClock has moved the clock past its base since the last reset. */
  get offsetMs(): number {
    return this.offset;
  }

  /** Moves the clock forward by `ms` (a finite number ≥ 0); returns the new now. */
  advance(ms: number): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new Error('advance needs a finite number of milliseconds ≥ 0');
    this.offset += ms;
    return this.now();
  }

  /** Back to the base clock (offset 0). */
  reset(): void {
    this.offset = 0;
  }
}
