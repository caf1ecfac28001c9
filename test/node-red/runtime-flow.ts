/**
 * Builds the flow the runtime tests deploy: the packaged example flows
 * (examples/), pointed at the simulator, with the token only in
 * the credentials of the deploy request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeRedFlowNode } from '../harness/node-red';
import { projectRoot } from '../harness/output';
import type { SimBot, Simulator } from './sim-fixture';

export const EXAMPLES_DIR = path.join(projectRoot, 'examples');
export const CONFIG_ID = 'c0ffee0000000001';

export function readExample(file: string): NodeRedFlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as NodeRedFlowNode[];
}

/** Several example files as one flow (they share the config node). */
export function examplesFlow(files: string[], sim: Simulator, bot: SimBot, recipient: string): NodeRedFlowNode[] {
  const byId = new Map<string, NodeRedFlowNode>();
  for (const file of files) for (const node of readExample(file)) byId.set(node.id, node);
  const config = byId.get(CONFIG_ID)!;
  Object.assign(config, { baseUrl: bot.baseUrl, botId: bot.botId, ownerUserId: bot.ownerUserId, cdnBaseUrl: sim.cdnBaseUrl });
  for (const node of byId.values()) {
    // The "send a file" example addresses a placeholder user.
    if (node.type === 'inject' && Array.isArray(node.props)) {
      for (const prop of node.props as Array<{ p: string; v?: string }>) if (prop.p === 'to') prop.v = recipient;
    }
  }
  return [...byId.values()];
}
