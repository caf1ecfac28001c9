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
}

export = function (RED: NodeAPI): void {
  function IlinkSend(this: RedNode, def: IlinkSendDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    const link = config && linkSender(node, config.connection);
    const sentText = statusTemplate(RED, 'ilink-send.status.sent', ['count', 'to']);
    const queuedText = statusTemplate(RED, 'ilink-send.status.queued', ['to']);

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
          signal: link.signal,
        });
        const queued = results.some((r) => r.queuedAs);
        link.status(
          queued
            ? { fill: 'yellow', shape: 'ring', text: queuedText({ to }) }
            : { fill: 'green', shape: 'dot', text: sentText({ count: results.length, to }) },
        );
        if (def.outputs) {
          msg.sent = {
            to,
            messageIds: results.map((r) => r.messageId),
            clientIds: results.map((r) => r.clientId),
            ...(queued ? { queued: true, outboxId: results[0]?.queuedAs } : {}),
            replyWindow: config.connection.client.replyWindow(to),
          };
          msg.messageId = [...results].reverse().find((r) => r.messageId)?.messageId ?? '';
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
