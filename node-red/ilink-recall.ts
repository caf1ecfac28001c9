/**
 * ilink-recall (EXPERIMENTAL): recalls a message the bot sent, by its server
 * message ID (msg.messageId from ilink-send's output, or msg.payload). Only
 * the seed's Go SDK calls this endpoint; no official client does.
 */
import { ValidationError } from '../shared';
import type { IlinkConfigNode } from './lib/config-node';
import { configNodeOf, noBotSelectedError } from './lib/node-status';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red-api';
import { linkSender } from './lib/sender-link';

interface IlinkRecallDef extends NodeDef {
  bot?: string;
}

function messageIdOf(msg: NodeMessage): string {
  for (const candidate of [msg.messageId, msg.payload]) {
    if (typeof candidate === 'number' && Number.isSafeInteger(candidate)) return String(candidate);
    if (typeof candidate === 'string' && candidate.trim()) return candidate.trim();
  }
  throw new ValidationError('no message ID to recall: set msg.messageId (ilink-send outputs it) or msg.payload');
}

export = function (RED: NodeAPI): void {
  function IlinkRecall(this: RedNode, def: IlinkRecallDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    const link = config && linkSender(node, config.connection);

    node.on('input', async (msg, send, done) => {
      if (!config || !link) {
        done(noBotSelectedError());
        return;
      }
      let id = '';
      try {
        id = messageIdOf(msg);
        await config.connection.client.recall(id, { signal: link.signal });
        msg.recalled = id;
        link.status({ fill: 'green', shape: 'dot', text: RED._('ilink-recall.status.recalled', { id }) });
        send(msg);
        done();
      } catch (error) {
        link.fail(error, done, `recalling message ${id}`);
      }
    });
  }

  RED.nodes.registerType('ilink-recall', IlinkRecall);
};
