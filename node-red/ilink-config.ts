/**
 * ilink-config: one WeChat iLink bot. Holds the token in Node-RED's credential
 * store, owns the bot's client and its one poller (see lib/bot-connection.ts),
 * and serves the admin endpoints of the editor's QR login (lib/login-endpoints.ts).
 */
import { BotConnection } from './lib/bot-connection';
import { stateDirFor, type IlinkConfigDef, type IlinkConfigNode } from './lib/config-node';
import { registerLoginEndpoints } from './lib/login-endpoints';
import { nodeLogger } from './lib/node-logger';
import type { NodeAPI } from './lib/red-api';

export = function (RED: NodeAPI): void {
  function IlinkConfig(this: IlinkConfigNode, def: IlinkConfigDef) {
    RED.nodes.createNode(this, def);
    const label = def.name || def.botId || def.id;
    this.connection = new BotConnection({
      settings: {
        baseUrl: def.baseUrl,
        botId: def.botId,
        ownerUserId: def.ownerUserId,
        cdnBaseUrl: def.cdnBaseUrl,
        routeTag: def.routeTag,
        botAgent: def.botAgent,
      },
      token: this.credentials?.token,
      stateDir: stateDirFor(RED),
      logger: nodeLogger(this),
      owner: `Node-RED config node "${label}" (${def.id})`,
    });
    this.on('close', (_removed, done) => {
      this.connection.close().then(done, done);
    });
  }

  RED.nodes.registerType('ilink-config', IlinkConfig, { credentials: { token: { type: 'password' } } });
  registerLoginEndpoints(RED);
};
