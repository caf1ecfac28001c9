/**
 * ilink-send: sends msg.payload (text, a Buffer with msg.filename, or an array
 * of items) as a reply to the msg's sender, or to msg.to / a configured user.
 * Errors go to done(err) so Catch nodes see them (21-httprequest.js style).
 */
import { PartialSendError } from '../shared';
import type { IlinkConfigNode } from './lib/config-node';
import { configNodeOf, noBotSelectedError, statusTemplate } from './lib/node-status';
import { contentOf, recipientOf, resolveTarget, sendContent, type RecipientMode } from './lib/outbound';
import type { NodeAPI, NodeDef, RedNode } from './lib/red-api';
import { linkSender } from './lib/sender-link';

interface IlinkSendDef extends NodeDef {
  bot?: string;
  /** A fixed recipient (user ID …@im.wechat); msg.to overrides it. */
  to?: string;
  mode?: RecipientMode;
  /** 1: pass the msg on with the sent message IDs; 0: no output. */
  outputs?: number;
  /** When the user's reply window is closed or the budget too small: fail (to Catch) or queue until they write. */
  whenClosed?: 'fail' | 'queue';
  /** An answer longer than the messages left: 'all' (fail or queue whole) or 'fit' (what fits now, the rest when the user writes). */
  longAnswers?: 'all' | 'fit';
  /** The words that end the last message that fits ('' for the core's default). */
  continuationHint?: string;
}

export = function (RED: NodeAPI): void {
  function IlinkSend(this: RedNode, def: IlinkSendDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    const link = config && linkSender(node, config.connection);
    const sentText = statusTemplate(RED, 'ilink-send.status.sent', ['count', 'to']);
    const queuedText = statusTemplate(RED, 'ilink-send.status.queued', ['to']);
    const partlyQueuedText = statusTemplate(RED, 'ilink-send.status.partlyQueued', ['count', 'to']);

    node.on('input', async (msg, send, done) => {
      if (!config || !link) {
        done(noBotSelectedError());
        return;
      }
      link.status({ fill: 'blue', shape: 'dot', text: 'ilink-send.status.sending' });
      let to = 'a user';
      try {
        const target = resolveTarget(msg, def.to, def.mode);
        to = recipientOf(target);
        const content = contentOf(msg);
        const results = await sendContent(config.connection.client, target, content, {
          whenClosed: def.whenClosed === 'queue' ? 'queue' : 'fail',
          longAnswers: def.longAnswers === 'fit' ? 'fit' : 'all',
          continuationHint: def.continuationHint?.trim() || undefined,
          signal: link.signal,
        });
        const sent = results.filter((r) => !r.queuedAs);
        const queuedAs = results.find((r) => r.queuedAs)?.queuedAs;
        link.status(
          !queuedAs
            ? { fill: 'green', shape: 'dot', text: sentText({ count: sent.length, to }) }
            : sent.length > 0
              ? { fill: 'yellow', shape: 'dot', text: partlyQueuedText({ count: sent.length, to }) }
              : { fill: 'yellow', shape: 'ring', text: queuedText({ to }) },
        );
        if (def.outputs) {
          msg.sent = {
            to,
            messageIds: sent.map((r) => r.messageId),
            clientIds: sent.map((r) => r.clientId),
            ...(queuedAs ? { queued: true, outboxId: queuedAs, queuedMessages: results.length - sent.length } : {}),
            replyWindow: config.connection.client.replyWindow(to),
          };
          msg.messageId = [...sent].reverse().find((r) => r.messageId)?.messageId ?? '';
          send(msg);
        }
        done();
      } catch (error) {
        if (error instanceof PartialSendError) msg.sent = { messageIds: error.sent.map((r) => r.messageId), partial: true };
        link.fail(error, done, `sending to ${to}`);
      }
    });
  }

  RED.nodes.registerType('ilink-send', IlinkSend);
};
