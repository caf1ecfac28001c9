/**
 * ilink-in: one msg per inbound WeChat message. msg.payload = the text (or the
 * downloaded media as a Buffer), msg.ilink = the friendly message, msg.topic =
 * the sender. Receives through its config node's poller.
 */
import { createMessageFilter, pickMediaItem, type Message } from '../shared';
import { putMedia } from './lib/media-msg';
import type { IlinkConfigNode } from './lib/config-node';
import type { ConnectionState } from './lib/connection-state';
import { FlowCompletion, FLOW_COMPLETION_TIMEOUT_MS, type MessageHooks } from './lib/flow-completion';
import { filterOptionsOf, type InboundFilterFields } from './lib/inbound-filter';
import { asError, configNodeOf, errorStatus } from './lib/node-status';
import type { Receiver } from './lib/receiving';
import type { NodeAPI, NodeDef, NodeMessage, NodeStatus, RedNode } from './lib/red-api';

interface IlinkInDef extends NodeDef, InboundFilterFields {
  bot?: string;
  /** Download image/video/file/voice into msg.payload (voice as WAV). */
  download?: boolean;
  /**
   * 'after-flow' (default): each user's messages enter the flow one at a time, in order, and a message is
   * handled once the flow has finished it (a crash or redeploy loses none); different users run side by side.
   * 'on-send': handled as soon as it is sent into the flow; flows overlap even for one user, and a crash
   * loses what the flow was still doing.
   */
  delivery?: 'after-flow' | 'on-send';
  /** Minutes before a user's reply window closes to send a "window-closing" msg; 0 = never. */
  windowClosingMinutes?: number | string;
}

const STATE_STATUS: Record<ConnectionState, NodeStatus> = {
  'not-logged-in': { fill: 'red', shape: 'ring', text: 'ilink-in.status.not-logged-in' },
  connecting: { fill: 'yellow', shape: 'ring', text: 'ilink-in.status.connecting' },
  polling: { fill: 'green', shape: 'dot', text: 'ilink-in.status.polling' },
  retrying: { fill: 'yellow', shape: 'ring', text: 'ilink-in.status.retrying' },
  'session-expired': { fill: 'red', shape: 'ring', text: 'ilink-in.status.session-expired' },
  conflict: { fill: 'red', shape: 'ring', text: 'ilink-in.status.conflict' },
  stopped: { fill: 'grey', shape: 'ring', text: 'ilink-in.status.stopped' },
};

function windowClosingLeadMs(minutes: number | string | undefined): number {
  const value = Number(minutes ?? 0);
  return Number.isFinite(value) && value > 0 ? value * 60_000 : 0;
}

export = function (RED: NodeAPI): void {
  // With Delivery "per user, after the flow" (default), handle() returns (and the poller marks the message handled) only once the flow has finished it.
  const completion = new FlowCompletion((RED as NodeAPI & { hooks?: MessageHooks }).hooks);

  function IlinkIn(this: RedNode, def: IlinkInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    if (!config) return;
    const connection = config.connection;

    let accept: (message: Message) => boolean;
    try {
      accept = createMessageFilter(filterOptionsOf(def, connection.ownerUserId));
    } catch (error) {
      // A bad regex or an empty allow-list: say so once, and receive nothing.
      node.status({ fill: 'red', shape: 'ring', text: 'ilink-in.status.bad-filter' });
      node.error(asError(error).message);
      return;
    }

    // Cancels a download in progress when the node closes, so a slow or stalled CDN never holds up a redeploy;
    // also ends the wait for the flow to finish a msg.
    const closing = new AbortController();

    const waitForFlow = def.delivery !== 'on-send';
    let warnedSlowFlow = false;
    const receiver: Receiver = {
      async handle(message) {
        if (!accept(message)) return;
        const msg: NodeMessage = { payload: message.text, topic: message.from, ilink: { ...message, replyWindow: connection.client.replyWindow(message.from, message.contextToken) } };
        if (def.download && pickMediaItem(message.items)) {
          try {
            const media = await connection.client.downloadMedia(message, { signal: closing.signal });
            putMedia(msg, media);
          } catch (error) {
            // Closing: not handled; the poller leaves the message for the next deploy.
            if (closing.signal.aborted) throw error;
            // The msg still carries the message, so a Catch flow can retry or answer.
            node.error(asError(error), msg);
            return;
          }
        }
        if (!waitForFlow) {
          node.send(msg);
          return;
        }
        const outcome = await completion.send(msg, (m) => node.send(m), { cancel: closing.signal });
        // Closing before the flow finished: not handled, so the poller leaves the message for the next deploy.
        if (outcome === 'cancelled') throw new Error(`ilink-in closed before the flow finished message ${message.messageId}`);
        if (outcome === 'timeout' && !warnedSlowFlow) {
          warnedSlowFlow = true;
          node.warn(
            `the flow did not finish message ${message.messageId} within ${FLOW_COMPLETION_TIMEOUT_MS / 1000} s (a node that never calls done?): ` +
              'it counts as handled now, and the nodes still busy with it are no longer waited for (a crash while they work would not bring a message back)',
          );
        }
      },
      windowClosingLeadMs: windowClosingLeadMs(def.windowClosingMinutes),
      onWindowClosing(window) {
        node.send({ topic: 'window-closing', to: window.userId, payload: window });
      },
      onFatal(error) {
        node.status(errorStatus('ilink-in', error));
        // With a msg, Catch nodes see it (session expired, another poller on this bot, not logged in).
        node.error(error, { topic: 'ilink-error', payload: error.message, error: { name: error.name, message: error.message } });
      },
    };

    const unwatch = connection.watchState((state) => node.status(STATE_STATUS[state]));
    connection.register(receiver);
    node.on('close', (_removed, done) => {
      closing.abort();
      unwatch();
      connection.deregister(receiver, done);
    });
  }

  RED.nodes.registerType('ilink-in', IlinkIn);
};
