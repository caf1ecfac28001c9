/**
 * ilink-typing: shows "typing…" to a user while a flow works. A msg starts it
 * (kept alive every 5 s by the core's per-user typing sessions) until a msg
 * with msg.typing === false, a "stop" node, or the timeout. The msg passes
 * through unchanged.
 */
import type { IlinkConfigNode } from './lib/config-node';
import { configNodeOf, noBotSelectedError } from './lib/node-status';
import { contextTokenOf, recipientOf, resolveTarget } from './lib/outbound';
import type { NodeAPI, NodeDef, RedNode } from './lib/red-api';
import { linkSender } from './lib/sender-link';

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
    const link = config && linkSender(node, config.connection);
    const parsed = Number(def.timeout);
    const timeoutMs = (Number.isFinite(parsed) && parsed >= 0 ? parsed : DEFAULT_TIMEOUT_S) * 1000;

    node.on('input', async (msg, send, done) => {
      if (!config || !link) {
        done(noBotSelectedError());
        return;
      }
      let user = 'a user';
      try {
        const target = resolveTarget(msg, def.to);
        user = recipientOf(target);
        const typing = config.connection.typing;
        const stop = def.action === 'stop' || msg.typing === false;
        if (stop) {
          await typing.stop(user, { signal: link.signal });
          link.status({ fill: 'grey', shape: 'ring', text: 'ilink-typing.status.stopped' });
        } else {
          typing.start(user, { contextToken: contextTokenOf(target), timeoutMs });
          link.status({ fill: 'blue', shape: 'dot', text: 'ilink-typing.status.typing' });
        }
        send(msg);
        done();
      } catch (error) {
        link.fail(error, done, `turning typing on or off for ${user}`);
      }
    });
  }

  RED.nodes.registerType('ilink-typing', IlinkTyping);
};
