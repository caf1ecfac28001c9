/**
 * Helpers shared by the fault tests: a poller over the real simulator driven
 * by a ManualClock (backoff sleeps never take real time), message injection
 * with the expected delivery order, and small polling waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ILinkClient, type ClientOptions } from '../../shared/client';
import { ManualClock } from '../../shared/clock';
import { ILinkError } from '../../shared/errors';
import type { Message } from '../../shared/model';
import type { Poller, PollerErrorInfo, PollerOptions, PollerStatus } from '../../shared/poller';
import type { Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';

export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function tempDir(prefix = 'ilink-faults-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export { rejection } from '../helpers/rejection';

export interface PollHarness {
  bot: BotInfo;
  client: ILinkClient;
  clock: ManualClock;
  poller: Poller;
  /** start()'s promise (already started unless `start: false`). */
  done: Promise<void> | undefined;
  start(): Promise<void>;
  received: Message[];
  errors: Array<{ error: Error; info: PollerErrorInfo }>;
  statuses: Array<{ status: PollerStatus; detail?: string }>;
  /** Message IDs in the order the simulator queued them. */
  expected: string[];
  /** A user writes to the bot; the ID is appended to `expected`. */
  inject(text: string, from?: string): string;
  receivedIds(): string[];
  /** getupdates requests the simulator has seen so far. */
  polls(): number;
  stop(): Promise<void>;
}

export const USER = 'alice@im.wechat';

export function pollHarness(
  sim: Simulator,
  options: {
    state?: string;
    clientOptions?: Partial<ClientOptions>;
    poller?: Partial<Pick<PollerOptions, 'onSessionExpired' | 'timings'>>;
    start?: boolean;
    handler?: (m: Message, client: ILinkClient) => unknown;
  } = {},
): PollHarness {
  const bot = sim.admin.createBot();
  const clock = new ManualClock();
  const client = new ILinkClient({
    token: bot.token,
    botId: bot.botId,
    baseUrl: sim.apiBaseUrl,
    cdnBaseUrl: sim.cdnBaseUrl,
    clock,
    state: options.state,
    ...options.clientOptions,
  });
  const received: Message[] = [];
  const errors: PollHarness['errors'] = [];
  const statuses: PollHarness['statuses'] = [];
  const expected: string[] = [];
  const poller = client.createPoller(
    async (m) => {
      received.push(m);
      await options.handler?.(m, client);
    },
    {
      onError: (error, info) => errors.push({ error, info }),
      onStatus: (status, detail) => statuses.push({ status, detail }),
      ...options.poller,
    },
  );
  const h: PollHarness = {
    bot,
    client,
    clock,
    poller,
    done: undefined,
    start() {
      h.done = poller.start();
      // Keep an unobserved rejection from failing the run; tests await `done` themselves.
      h.done.catch(() => undefined);
      return h.done;
    },
    received,
    errors,
    statuses,
    expected,
    inject(text, from = USER) {
      const { messageId } = sim.admin.injectMessage({ botId: bot.botId, from, text });
      expected.push(messageId);
      return messageId;
    },
    receivedIds: () => received.map((m) => m.messageId),
    polls: () => sim.admin.requests({ endpoint: 'getUpdates' }).length,
    async stop() {
      await poller.stop();
      await h.done?.catch(() => undefined);
    },
  };
  if (options.start !== false) h.start();
  return h;
}

/** Every error the core reports must be one of its typed errors. */
export function expectTyped(error: unknown): asserts error is ILinkError {
  if (!(error instanceof ILinkError)) {
    throw new Error(`expected an ILinkError subclass, got ${String((error as Error)?.name)}: ${String((error as Error)?.message)}`);
  }
}

/** mulberry32: a small seeded PRNG, so a failing crash run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The messages of a crash run in sending order: a random user each, texts "<user>#<n>" numbered per user. */
export function planMessages(random: () => number, total: number, users: readonly string[]): Array<{ user: string; text: string }> {
  const plan: Array<{ user: string; text: string }> = [];
  const perUserCount = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const user = users[Math.floor(random() * users.length)]!;
    const n = (perUserCount.get(user) ?? 0) + 1;
    perUserCount.set(user, n);
    plan.push({ user, text: `${user.split('@')[0]}#${n}` });
  }
  return plan;
}
