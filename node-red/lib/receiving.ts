/**
 * Receiving for one bot: the core's ReceiverHub (one poller, every ilink-in
 * node a receiver with its own filter), with what Node-RED adds: the config
 * node's connection status, and NotLoggedInError when the bot has no login.
 */
import {
  PollerConflictError,
  ReceiverHub,
  SessionExpiredError,
  type ILinkClient,
  type Logger,
  type MessageReceiver,
  type PollerStatus,
} from '../../shared';
import { NotLoggedInError } from './bot-client';
import type { ConnectionStatus } from './connection-state';

/** A node that wants inbound messages (ilink-in). */
export type Receiver = MessageReceiver;

export interface ReceivingOptions {
  /** The bot's current client (undefined: not logged in). */
  client: () => ILinkClient | undefined;
  status: ConnectionStatus;
  logger: Logger;
  /** Shown to a second poller that is refused, e.g. 'Node-RED config node "My bot" (id)'. */
  owner: string;
}

export class Receiving {
  private readonly hub: ReceiverHub;

  constructor(private readonly options: ReceivingOptions) {
    const { status } = options;
    this.hub = new ReceiverHub({
      client: options.client,
      owner: options.owner,
      logger: options.logger,
      onNoClient: () => {
        status.set('not-logged-in');
        return new NotLoggedInError();
      },
      onStatus: (pollerStatus, detail) => this.onPollerStatus(pollerStatus, detail),
      onEnded: (failure) => {
        if (failure instanceof SessionExpiredError) status.set('session-expired', failure.message);
        else if (failure instanceof PollerConflictError) status.set('conflict', failure.message);
        else status.set('stopped', failure.message);
      },
    });
  }

  register(receiver: Receiver): void {
    this.hub.register(receiver);
  }

  /** Removes a receiver; with the last one gone, the poller stops before `done`. */
  deregister(receiver: Receiver, done: () => void): void {
    this.hub.deregister(receiver).then(done, done);
  }

  /** Starts the poller again if anyone receives (after a new login); otherwise shows whether the bot is logged in. */
  resume(): void {
    if (!this.hub.resume()) this.options.status.set(this.options.client() ? 'stopped' : 'not-logged-in');
  }

  /** Stops the poller (its in-flight poll aborted) and waits until it has let go of the bot. */
  stop(): Promise<void> {
    return this.hub.stop();
  }

  close(): Promise<void> {
    return this.hub.close();
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
}
