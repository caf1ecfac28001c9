/**
 * ilink-in's filter options that n8n's trigger also has (the core's one
 * filter, shared/filter.ts): case sensitivity of the text match, and bot
 * echoes ignored or passed on. Real Node-RED, messages from the simulator.
 */
import { collect, eventually } from './flow-util';
import { useSimulator } from './sim-fixture';
import { useHelper } from './use-helper';
import { loadBotFlow } from './load-bot-flow';

describe('ilink-in filter options against the simulator', () => {
  useHelper('node-red-inbound-filter');
  const simulator = useSimulator();

  async function loadReceivers(receivers: Array<{ id: string; [field: string]: unknown }>) {
    const { sim, bot } = await loadBotFlow(simulator(), [
      ...receivers.map((receiver) => ({ type: 'ilink-in', bot: 'bot', wires: [[`${receiver.id}Out`]], ...receiver })),
      ...receivers.map((receiver) => ({ id: `${receiver.id}Out`, type: 'helper' })),
      { id: 'all', type: 'ilink-in', bot: 'bot', botEchoes: 'include', wires: [['allOut']] },
      { id: 'allOut', type: 'helper' },
    ]);
    const got = Object.fromEntries(receivers.map((receiver) => [receiver.id, collect(`${receiver.id}Out`)]));
    return { sim, bot, got, all: collect('allOut') };
  }

  it('the text match ignores case by default; "match upper and lower case exactly" tells them apart (contains and regex)', async () => {
    const { sim, bot, got, all } = await loadReceivers([
      { id: 'anyCase', textMode: 'contains', textPattern: 'hello' },
      { id: 'exact', textMode: 'contains', textPattern: 'Hello', caseSensitive: true },
      { id: 'regexAnyCase', textMode: 'regex', textPattern: '^STOP$' },
      { id: 'regexExact', textMode: 'regex', textPattern: '^STOP$', caseSensitive: true },
    ]);
    for (const text of ['hello there', 'HELLO', 'Hello world', 'stop', 'STOP']) sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text });
    // Every message reaches every receiver before the next one: when "all" has them all, the others are done.
    await eventually('five messages', () => all.length === 5);
    const texts = (id: string) => got[id]!.map((m) => m.payload);
    expect(texts('anyCase')).toEqual(['hello there', 'HELLO', 'Hello world']);
    expect(texts('exact')).toEqual(['Hello world']);
    expect(texts('regexAnyCase')).toEqual(['stop', 'STOP']);
    expect(texts('regexExact')).toEqual(['STOP']);
  });

  it('bot echoes are ignored by default and come out with "pass them on too", marked kind "bot"; the other filters still apply', async () => {
    const { sim, bot, got, all } = await loadReceivers([
      { id: 'ignoring' },
      { id: 'including', botEchoes: 'include' },
      { id: 'includingText', botEchoes: 'include', textPattern: 'order' },
    ]);
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'my order' });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'your order shipped', messageType: 2 });
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'thanks bot', messageType: 2 });
    await eventually('three messages', () => all.length === 3);
    const seen = (id: string) => got[id]!.map((m) => [m.payload, m.ilink.kind]);
    expect(seen('ignoring')).toEqual([['my order', 'user']]);
    expect(seen('including')).toEqual([
      ['my order', 'user'],
      ['your order shipped', 'bot'],
      ['thanks bot', 'bot'],
    ]);
    expect(seen('includingText')).toEqual([
      ['my order', 'user'],
      ['your order shipped', 'bot'],
    ]);
  });
});
