/**
 * What the sending nodes (wechat send, media, typing, recall) share, as
 * 10-mqtt.js's out nodes do with their broker node: they show the bot's
 * connection state, and closing (a redeploy, a stop) cancels what they still
 * have in flight, so close never waits for a slow download or a rate-limit
 * wait. A cancelled request is the redeploy, not a failure: it is logged as
 * a warning that says what was not done, and Catch nodes do not see it.
 */
import { PartialSendError, SessionExpiredError } from '../../shared';
import type { BotConnection } from './bot-connection';
import type { ConnectionState } from './connection-state';
import { asError, errorStatus } from './node-status';
import type { DoneFunction, NodeStatus, RedNode } from './red-api';

type Shown = 'connected' | 'connecting' | 'not-logged-in' | 'session-expired';

/** What a sender shows: it can send while nothing receives, or while another process receives. */
const SHOWN: Record<ConnectionState, Shown> = {
  'not-logged-in': 'not-logged-in',
  connecting: 'connecting',
  retrying: 'connecting',
  polling: 'connected',
  stopped: 'connected',
  conflict: 'connected',
  'session-expired': 'session-expired',
};

const LOOK: Record<Shown, Pick<NodeStatus, 'fill' | 'shape'>> = {
  connected: { fill: 'green', shape: 'dot' },
  connecting: { fill: 'yellow', shape: 'ring' },
  'not-logged-in': { fill: 'red', shape: 'ring' },
  'session-expired': { fill: 'red', shape: 'ring' },
};

export interface SenderLink {
  /** Aborts when the node closes: pass it to every core call. */
  readonly signal: AbortSignal;
  /** Shows a status, unless the node has closed (a late one would land on the node that replaced it). */
  status(status: NodeStatus): void;
  /**
   * Ends a msg whose work failed. Before close: red status, and the error to
   * done() (Catch nodes). After close: a warning that `doing` was cancelled.
   */
  fail(error: unknown, done: DoneFunction, doing: string): void;
}

export function linkSender(node: RedNode, connection: BotConnection): SenderLink {
  const closing = new AbortController();
  let shown: Shown | undefined;
  const unwatch = connection.watchState((state) => {
    // Only a change of what the sender shows replaces its last "sent …" status.
    if (SHOWN[state] === shown) return;
    shown = SHOWN[state];
    node.status({ ...LOOK[shown], text: `${node.type}.status.${shown}` });
  });
  node.on('close', (_removed, done) => {
    closing.abort();
    unwatch();
    done();
  });

  return {
    signal: closing.signal,
    status(status) {
      if (!closing.signal.aborted) node.status(status);
    },
    fail(error, done, doing) {
      if (closing.signal.aborted) {
        const earlier = error instanceof PartialSendError ? ` (${error.sent.length} earlier part(s) had already gone out)` : '';
        node.warn(`closed (redeploy or stop) while ${doing}: that was cancelled and is not retried${earlier}`);
        done();
        return;
      }
      const cause = error instanceof PartialSendError ? error.failure : error;
      if (cause instanceof SessionExpiredError) connection.noteSessionExpired(cause);
      node.status(errorStatus(node.type, cause));
      done(asError(error));
    },
  };
}
