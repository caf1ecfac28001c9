/**
 * One poller per bot, many receivers (the pattern of Node-RED's 10-mqtt.js).
 * iLink hands each update to one getupdates caller (§10 "One poller"), so the
 * nodes of a host that want a bot's messages register here instead of each
 * polling: the poller starts with the first receiver and stops with the last,
 * and every fetched message goes to every receiver, which applies its own
 * filter (echoes too: one receiver may want them, another not). A message no
 * receiver wanted is still handled: it leaves the inbox.
 *
 * Host-free: the host says how to get the bot's client and hears the poller's
 * status and end through callbacks.
 */
import type { ILinkClient } from './client';
import type { Logger } from './log';
import type { Message } from './model';
import { DEFAULT_CONCURRENCY, type Poller, type PollerStatus, type PollerTimings } from './poller';
import { pollerTimingsFromEnv } from './poller-timings';
import type { ReplyWindow } from './reply-window';

/** A node that wants the bot's inbound messages. */
export interface MessageReceiver {
  /** Gets every message; filters it itself. Rejects only when the receiver was closed while handling it (it was then not handled). */
  handle(message: Message): Promise<void>;
  /** The poller ended for good (session expired, another process holds the bot, no client). */
  onFatal(error: Error): void;
  /** How long before a user's reply window closes this receiver wants onWindowClosing (0 or absent: never). */
  windowClosingLeadMs?: number;
  onWindowClosing?(window: ReplyWindow): void;
  /** While this receiver is registered the bot's messages are handled one at a time (all users), each after the last one's handle(). */
  oneAtATime?: boolean;
}

export interface ReceiverHubOptions {
  /** The bot's current client (undefined: none, e.g. not logged in). Read at each start of the poller. */
  client: () => ILinkClient | undefined;
  /** Names this hub to a poller of another process that is refused, e.g. 'Node-RED config node "My bot" (id)'. */
  owner: string | (() => string);
  logger: Logger;
  /** A start found no client: the error the receivers get (the host may show it first). */
  onNoClient: () => Error;
  onStatus?: (status: PollerStatus, detail?: string) => void;
  /** The poller ended for good; called before the receivers' onFatal. */
  onEnded?: (error: Error) => void;
  /** Over the timings from the environment (WECHAT_ILINK_POLLER_TIMINGS). */
  timings?: Partial<PollerTimings>;
}

/** What the poller was created with; a change in the registered set's needs restarts it. */
interface PollerNeeds {
  concurrency: number;
  windowClosingLeadMs: number;
}

export class ReceiverHub {
  private readonly receivers = new Set<MessageReceiver>();
  private poller: Poller | undefined;
  private pollerNeeds: PollerNeeds | undefined;
  /** Settles when the current poller has fully stopped (claim released, state saved). */
  private stopping: Promise<void> = Promise.resolve();
  private checkQueued = false;
  private startWanted = false;
  private closed = false;

  constructor(private readonly options: ReceiverHubOptions) {}

  get size(): number {
    return this.receivers.size;
  }

  /** True while a poller runs (or waits for the previous one to let go of the bot). */
  get polling(): boolean {
    return this.poller !== undefined;
  }

  register(receiver: MessageReceiver): void {
    this.receivers.add(receiver);
    this.startWanted = true;
    this.queueCheck();
  }

  /** Removes a receiver; with the last one gone, the poller has stopped when this resolves. */
  async deregister(receiver: MessageReceiver): Promise<void> {
    this.receivers.delete(receiver);
    if (this.receivers.size === 0) await this.stop();
    else this.queueCheck();
  }

  /** Starts the poller again if anyone receives (after a new login); false when nobody does. */
  resume(): boolean {
    if (this.receivers.size === 0) return false;
    this.start();
    return true;
  }

  /** Stops the poller (its in-flight poll aborted) and waits until it has let go of the bot. */
  async stop(): Promise<void> {
    const poller = this.poller;
    this.poller = undefined;
    if (poller) await poller.stop();
    await this.stopping;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.receivers.clear();
  }

  /**
   * On the next turn: every receiver registered in this turn (a deploy, n8n activating its
   * workflows) is counted before the poller starts, and the host's other nodes exist by then.
   */
  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      const startWanted = this.startWanted;
      this.startWanted = false;
      if (this.closed || this.receivers.size === 0) return;
      if (!this.poller) {
        // Only a new receiver starts an idle hub: one leaving after a fatal end does not.
        if (startWanted) this.start();
        return;
      }
      if (!sameNeeds(this.pollerNeeds, this.needs())) this.restart();
    });
  }

  /** A poller's concurrency and window watch are fixed at its creation; a restart is safe, the inbox is persisted. */
  private restart(): void {
    const old = this.poller;
    this.poller = undefined;
    void old?.stop();
    this.start();
  }

  private needs(): PollerNeeds {
    const receivers = [...this.receivers];
    return {
      concurrency: receivers.some((receiver) => receiver.oneAtATime) ? 1 : DEFAULT_CONCURRENCY,
      // One watch per bot: the longest lead any receiver asked for.
      windowClosingLeadMs: Math.max(0, ...receivers.map((receiver) => receiver.windowClosingLeadMs ?? 0)),
    };
  }

  private start(): void {
    if (this.closed || this.poller) return;
    const client = this.options.client();
    if (!client) {
      this.fatal(this.options.onNoClient());
      return;
    }
    let timings: Partial<PollerTimings>;
    try {
      timings = { ...pollerTimingsFromEnv(), ...this.options.timings };
    } catch (error) {
      this.fatal(error as Error);
      return;
    }
    const needs = this.needs();
    const { owner } = this.options;
    const poller = client.createPoller((message) => this.deliver(message), {
      owner: typeof owner === 'function' ? owner() : owner,
      timings,
      includeBotMessages: true,
      concurrency: needs.concurrency,
      windowClosing:
        needs.windowClosingLeadMs > 0
          ? {
              leadMs: needs.windowClosingLeadMs,
              onClosing: (window) => {
                for (const receiver of this.receivers) if (receiver.windowClosingLeadMs) receiver.onWindowClosing?.(window);
              },
            }
          : undefined,
      onSessionExpired: 'stop',
      onStatus: (status, detail) => this.options.onStatus?.(status, detail),
    });
    this.poller = poller;
    this.pollerNeeds = needs;
    // A previous poller of this bot may still be finishing (claim not yet released).
    const run = this.stopping.then(() => {
      if (this.poller !== poller) return;
      try {
        return poller.start();
      } catch (error) {
        return Promise.reject(error);
      }
    });
    this.stopping = run.then(
      () => undefined,
      (error: unknown) => this.onPollerEnded(poller, error),
    );
  }

  private fatal(error: Error): void {
    for (const receiver of [...this.receivers]) receiver.onFatal(error);
  }

  /** Every receiver gets the message at once; the poller marks it handled when all are done. */
  private async deliver(message: Message): Promise<void> {
    const receivers = [...this.receivers];
    const results = await Promise.allSettled(receivers.map((receiver) => receiver.handle(message)));
    let cutShort: { error: unknown } | undefined;
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') return;
      // Closed while handling it (a redeploy cancelled its download): the message did not reach that node.
      if (!this.receivers.has(receivers[index])) cutShort = { error: result.reason };
      else this.options.logger.warn(`a receiver failed on message ${message.messageId}: ${(result.reason as Error)?.message ?? String(result.reason)}`);
    });
    // The last receiver went away mid-message, so the poller is stopping: failing here tells it the
    // message was not handled, and the next poller delivers it.
    if (cutShort && this.receivers.size === 0) throw cutShort.error;
    // A host hands the message on at the next setImmediate (Node-RED's node.send). Yield once, so the
    // receiver's first step (usually the reply's request) starts before the poller writes its journal
    // line and opens the next long poll.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private onPollerEnded(poller: Poller, error: unknown): void {
    if (this.poller === poller) this.poller = undefined;
    const failure = error instanceof Error ? error : new Error(String(error));
    this.options.onEnded?.(failure);
    this.fatal(failure);
  }
}

function sameNeeds(a: PollerNeeds | undefined, b: PollerNeeds): boolean {
  return a !== undefined && a.concurrency === b.concurrency && a.windowClosingLeadMs === b.windowClosingLeadMs;
}
