/** The runtime shape of an ilink-config node, as the other nodes see it. */
import { join } from 'node:path';
import type { BotSettings } from './bot-client';
import type { BotConnection } from './bot-connection';
import type { NodeAPI, NodeDef, RedNode } from './red-api';

export interface IlinkConfigDef extends NodeDef, BotSettings {}

export interface IlinkConfigNode extends RedNode {
  connection: BotConnection;
}

/** Where message state lives: <userDir>/wechat-ilink/, one JSON file per bot. */
export function stateDirFor(RED: NodeAPI): string | undefined {
  const userDir = RED.settings.userDir;
  return typeof userDir === 'string' && userDir ? join(userDir, 'wechat-ilink') : undefined;
}
