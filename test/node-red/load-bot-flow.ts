/**
 * The common start of a Node-RED test against the simulator: a fresh bot, its
 * config node (id "bot") with the token in its credentials, and the test's
 * nodes on one tab.
 */
import { helper } from '../harness/node-red-test-helper';
import { onTab } from './flow-util';
import type { Simulator } from './sim-fixture';
import { configNodeFor } from './sim-fixture';
import { allNodes } from './use-helper';

export async function loadBotFlow(sim: Simulator, nodes: Parameters<typeof onTab>[0], options: { token?: boolean } = {}) {
  const bot = sim.admin.createBot();
  await helper.load(allNodes, onTab([configNodeFor(sim, bot), ...nodes]), options.token === false ? {} : { bot: { token: bot.token } });
  return { sim, bot };
}
