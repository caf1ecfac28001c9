/**
 * Receiving for one bot (10-mqtt.js pattern): ilink-in nodes register, the
 * one long poller starts with the first and stops with the last, and every
 * fetched message goes to every receiver, which applies its own filter.
 */
import {
  PollerConflictError,
  SessionExpiredError,
  pollerTimingsFromEnv,
  type ILinkClient,
  type Logger,
  type Message,
  type Poller,
  type PollerStatus,
  type PollerTimings,
  type ReplyWindow,
} from '../../shared';
import { NotLoggedInError } from './bot-client';
import type { ConnectionStatus } from './connection-state';

/** A node that wants inbound messages (ilink-in). */
export interface Receiver {
  /** Rejects only when the receiver was closed while handling the message (it was then not handled). */
  handle(message: Message): Promise<void>;
  /** The poller ended for good (session expired, another poller holds the bot, not logged in). */
  onFatal(error: Error): void;
  /** How long before a user's reply window closes this receiver wants onWindowClosing (0 or absent: never). */
  windowClosingLeadMs?: number;
  onWindowClosing?(window: ReplyWindow): void;
}

export interface ReceivingOptions {
  /** The bot's current client (undefined: not logged in). */
  client: () => ILinkClient | undefined;
  status: ConnectionStatus;
  logger: Logger;
  /** Shown to a second poller that is refused, e.g. 'Node-RED config node "My bot" (id)'. */
  owner: string;
}

export class Receiving {
  private readonly receivers = new Set<Receiver>();
  private poller: Poller | undefined;
  /** Settles when the current poller has fully stopped (claim released, state saved). */
  private stopping: Promise<void> = Promise.resolve();
  private startQueued = false;
  private closed = false;

  constructor(private readonly options: ReceivingOptions) {}

  register(receiver: Receiver): void {
    this.receivers.add(receiver);
    // Started on the next turn: the other nodes of the flow (Catch nodes above all)
    // exist by then, so an error raised at start reaches them.
    if (this.startQueued) return;
    this.startQueued = true;
    setImmediate(() => {
      this.startQueued = false;
      if (this.receivers.size > 0 && !this.poller) this.start();
    });
  }

  /** Removes a receiver; with the last one gone, the poller stops before `done`. */
  deregister(receiver: Receiver, done: () => void): void {
    this.receivers.delete(receiver);
    if (this.receivers.size > 0) {
      done();
      return;
    }
    this.stop().then(done, done);
  }

  /** Starts the poller again if anyone receives (after a new login); otherwise shows whether the bot is logged in. */
  resume(): void {
    if (this.receivers.size > 0) this.start();
    else this.options.status.set(this.options.client() ? 'stopped' : 'not-logged-in');
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

  private start(): void {
    if (this.closed || this.poller) return;
    const { status } = this.options;
    const client = this.options.client();
    if (!client) {
      status.set('not-logged-in');
      this.fatal(new NotLoggedInError());
      return;
    }
    let timings: Partial<PollerTimings> | undefined;
    try {
      timings = pollerTimingsFromEnv();
    } catch (error) {
      this.fatal(error as Error);
      return;
    }
    // One watch per bot: the longest lead any receiver asked for.
    const leadMs = Math.max(0, ...[...this.receivers].map((receiver) => receiver.windowClosingLeadMs ?? 0));
    const poller = client.createPoller((message) => this.deliver(message), {
      owner: this.options.owner,
      timings,
      // Echoes too: each receiver's filter decides (one may ask for them, another not).
      includeBotMessages: true,
      windowClosing:
        leadMs > 0
          ? {
              leadMs,
              onClosing: (window) => {
                for (const receiver of this.receivers) if (receiver.windowClosingLeadMs) receiver.onWindowClosing?.(window);
              },
            }
          : undefined,
      onSessionExpired: 'stop',
      onStatus: (pollerStatus, detail) => this.onPollerStatus(pollerStatus, detail),
    });
    this.poller = poller;
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
    for (const receiver of this.receivers) receiver.onFatal(error);
  }

  private async deliver(message: Message): Promise<void> {
    let cutShort: { error: unknown } | undefined;
    for (const receiver of [...this.receivers]) {
      try {
        await receiver.handle(message);
      } catch (error) {
        // Closed while handling it (a redeploy cancelled its download): the message did not reach that node.
        if (!this.receivers.has(receiver)) cutShort = { error };
        else this.options.logger.warn(`a receiving node failed on message ${message.messageId}: ${(error as Error).message}`);
      }
    }
    // The last receiver went away mid-message, so the poller is stopping: failing here tells it the
    // message was not handled, and the next poller (after the redeploy) delivers it.
    if (cutShort && this.receivers.size === 0) throw cutShort.error;
    // node.send() hands the msg on at the next setImmediate. Yield once, so the flow's
    // first step (usually the reply's request) starts before the poller writes its
    // journal line and opens the next long poll: that work was on every reply's path.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private onPollerStatus(pollerStatus: PollerStatus, detail?: string): void {
    const { status } = this.options;
    switch (pollerStatus) {
      case 'starting':
        status.set('connecting');
        break;
      case 'polling':
        status.set('polling');
        break;
      case 'retrying':
        status.set('retrying', detail);
        break;
      case 'session-expired':
        status.set('session-expired', detail);
        break;
      case 'stopped':
        if (status.state !== 'session-expired' && status.state !== 'conflict') status.set('stopped');
        break;
      default:
        break;
    }
  }

  private onPollerEnded(poller: Poller, error: unknown): void {
    if (this.poller === poller) this.poller = undefined;
    const failure = error instanceof Error ? error : new Error(String(error));
    const { status } = this.options;
    if (failure instanceof SessionExpiredError) status.set('session-expired', failure.message);
    else if (failure instanceof PollerConflictError) status.set('conflict', failure.message);
    else status.set('stopped', failure.message);
    this.fatal(failure);
  }
}
