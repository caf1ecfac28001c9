/**
 * ilink-typing: shows "typing…" to a user while a flow works. A msg starts it
 * (kept alive every 5 s by the core) until a msg with msg.typing === false, a
 * "stop" node, or the timeout. The msg passes through unchanged.
 */
import type { IlinkConfigNode } from './lib/config-node';
import { asError, configNodeOf, errorStatus, noBotSelectedError } from './lib/node-status';
import { contextTokenOf, recipientOf, resolveTarget } from './lib/outbound';
import type { NodeAPI, NodeDef, RedNode } from './lib/red-api';

interface IlinkTypingDef extends NodeDef {
  bot?: string;
  /** 'start' (stops when msg.typing === false) or 'stop'. */
  action?: 'start' | 'stop';
  to?: string;
  /** Seconds after which typing stops by itself (0 = never). */
  timeout?: number | string;
}

const DEFAULT_TIMEOUT_S = 60;

export = function (RED: NodeAPI): void {
  function IlinkTyping(this: RedNode, def: IlinkTypingDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configNodeOf<IlinkConfigNode>(RED, node, def.bot);
    const parsed = Number(def.timeout);
    const timeoutMs = (Number.isFinite(parsed) && parsed >= 0 ? parsed : DEFAULT_TIMEOUT_S) * 1000;

    node.on('input', async (msg, send, done) => {
      if (!config) {
        done(noBotSelectedError());
        return;
      }
      try {
        const target = resolveTarget(msg, def.to);
        const user = recipientOf(target);
        const connection = config.connection;
        const stop = def.action === 'stop' || msg.typing === false;
        if (stop) {
          await connection.stopTyping(user);
          node.status({ fill: 'grey', shape: 'ring', text: 'ilink-typing.status.stopped' });
        } else {
          connection.startTyping(user, contextTokenOf(target), timeoutMs);
          node.status({ fill: 'blue', shape: 'dot', text: 'ilink-typing.status.typing' });
        }
        send(msg);
        done();
      } catch (error) {
        node.status(errorStatus('ilink-typing', error));
        done(asError(error));
      }
    });
  }

  RED.nodes.registerType('ilink-typing', IlinkTyping);
};
