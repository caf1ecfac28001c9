/**
 * The measurements every echo client gets: sequential round-trip latency and
 * burst throughput, both timed at the simulator (inject → echo recorded).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Simulator } from '../simulator';
import { BURST, BURST_BOUND_MS, ECHO_TIMEOUT_MS, LATENCY_BOUND_MS, LATENCY_COUNT, LATENCY_WARMUP, USERS, WINDOW } from './config';

export const now = (): bigint => process.hrtime.bigint();
export const msSince = (start: bigint, end: bigint = now()): number => Number(end - start) / 1e6;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface TextMsg {
  item_list?: Array<{ text_item?: { text?: string } }>;
}

/**
 * Listens to what the simulator records as sent, through the public
 * waitForSent: its predicate sees every sent record, so it counts, stamps and
 * wakes per-text waiters; it matches (and unsubscribes) after `expected` echoes.
 */
export class SentTap {
  count = 0;
  lastAt = 0n;
  private readonly waiters = new Map<string, (at: bigint) => void>();

  constructor(sim: Simulator, botId: string, private readonly tag: string, expected: number, timeoutMs: number) {
    sim.admin
      .waitForSent((record) => {
        if (record.botId !== botId) return false;
        const text = (record.msg as TextMsg).item_list?.[0]?.text_item?.text;
        if (!text?.startsWith(`${this.tag}-`)) return false;
        const at = now();
        this.count++;
        this.lastAt = at;
        const waiter = this.waiters.get(text);
        if (waiter) {
          this.waiters.delete(text);
          waiter(at);
        }
        return this.count >= expected;
      }, timeoutMs)
      .catch(() => undefined);
  }

  waitFor(text: string, timeoutMs: number): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(text);
        reject(new Error(`no echo of "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(text, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }
}

export interface Distribution {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}

export interface LatencyResult extends Distribution {
  errors: string[];
  /** The messages behind the samples (warm-up excluded), for host-side timestamps. */
  measured: Array<{ messageId: string; text: string }>;
}

export async function measureLatency(sim: Simulator, botId: string, tag: string, count = LATENCY_COUNT): Promise<LatencyResult> {
  const total = LATENCY_WARMUP + count;
  const tap = new SentTap(sim, botId, tag, total, LATENCY_BOUND_MS);
  const samples: number[] = [];
  const measured: LatencyResult['measured'] = [];
  const errors: string[] = [];
  const started = now();
  for (let i = 0; i < total; i++) {
    if (msSince(started) > LATENCY_BOUND_MS) {
      errors.push(`stopped after ${i} messages: time bound ${LATENCY_BOUND_MS} ms`);
      break;
    }
    const text = `${tag}-${i}`;
    const echoed = tap.waitFor(text, i === 0 ? 30_000 : ECHO_TIMEOUT_MS);
    const t0 = now();
    const { messageId } = sim.admin.injectMessage({ botId, from: `lat-user-${i % 10}@im.wechat`, text });
    try {
      const t1 = await echoed;
      if (i >= LATENCY_WARMUP) {
        samples.push(msSince(t0, t1));
        measured.push({ messageId, text });
      }
    } catch (error) {
      errors.push((error as Error).message);
      if (errors.length >= 3) break;
    }
  }
  return { ...distribution(samples), errors, measured };
}

export interface BurstResult {
  done: number;
  seconds: number;
  rate: number;
  note?: string;
}

/**
 * Injects `total` messages from USERS users, never more than WINDOW ahead of
 * `progress()` (so the simulator's queue cap never drops one), and times
 * first inject → last message done. Gives up early when nothing is done for
 * `stallMs` (a host that has wedged should not hold the run for the full bound).
 */
export async function measureBurst(
  sim: Simulator,
  botId: string,
  progress: () => number,
  lastAt: () => bigint,
  tag: string,
  total = BURST,
  stallMs = BURST_BOUND_MS,
): Promise<BurstResult> {
  const base = progress();
  const start = now();
  let injected = 0;
  let note: string | undefined;
  while (injected < total) {
    if (msSince(start) > BURST_BOUND_MS) {
      note = `time bound ${BURST_BOUND_MS} ms hit after ${injected} injected`;
      break;
    }
    let chunk = 0;
    while (injected < total && injected - (progress() - base) < WINDOW && chunk < 200) {
      sim.admin.injectMessage({ botId, from: `user-${injected % USERS}@im.wechat`, text: `${tag}-${injected}` });
      injected++;
      chunk++;
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (chunk === 0) await sleep(1);
  }
  let seen = progress();
  let seenAt = now();
  while (progress() - base < injected && msSince(start) <= BURST_BOUND_MS) {
    if (progress() !== seen) {
      seen = progress();
      seenAt = now();
    } else if (msSince(seenAt) > stallMs) {
      note = `stalled: nothing done for ${stallMs / 1000} s`;
      break;
    }
    await sleep(2);
  }
  const done = progress() - base;
  if (done < total) note = `only ${done} of ${total} done${note ? ` (${note})` : ` within ${BURST_BOUND_MS} ms`}`;
  const end = lastAt() > start ? lastAt() : now();
  const seconds = msSince(start, end) / 1000;
  return { done, seconds, rate: done / seconds, note };
}

export interface EchoResult {
  latency: LatencyResult;
  burst: BurstResult;
}

export async function echoRun(sim: Simulator, botId: string, name: string, counts = { latency: LATENCY_COUNT, burst: BURST }): Promise<EchoResult> {
  log(`  ${name}: latency, ${counts.latency} sequential messages (+${LATENCY_WARMUP} warm-up)…`);
  const latency = await measureLatency(sim, botId, `${name}-lat`, counts.latency);
  log(`    p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms${latency.errors.length ? ` (${latency.errors.join('; ')})` : ''}`);
  log(`  ${name}: burst of ${counts.burst} messages from ${USERS} users…`);
  const tag = `${name}-burst`;
  const tap = new SentTap(sim, botId, tag, counts.burst, BURST_BOUND_MS + 10_000);
  const burst = await measureBurst(sim, botId, () => tap.count, () => tap.lastAt, tag, counts.burst);
  log(`    ${burst.rate.toFixed(0)} msg/s (${burst.done} in ${burst.seconds.toFixed(2)} s)${burst.note ? ` — ${burst.note}` : ''}`);
  return { latency, burst };
}
