/** admin.onDelivered: the benchmark's timestamp of a getupdates answer that carried messages. */
import type { Delivery } from '../../simulator';
import { callApi, useSimulator } from './helpers';

describe('admin.onDelivered', () => {
  const sim = useSimulator({ longPollTimeoutMs: 400 });

  test('reports each answer with messages once, in queue order, stamped after it was written', async () => {
    const bot = sim().admin.createBot();
    const deliveries: Delivery[] = [];
    const stop = sim().admin.onDelivered((d) => deliveries.push(d));
    try {
      const first = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'one' });
      const second = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'two' });
      const before = Date.now();
      const answer = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
      const after = Date.now();
      expect(answer.json?.msgs).toHaveLength(2);
      expect(deliveries).toEqual([{ botId: bot.botId, messageIds: [first.messageId, second.messageId], time: expect.any(Number) }]);
      expect(deliveries[0]!.time).toBeGreaterThanOrEqual(before);
      expect(deliveries[0]!.time).toBeLessThanOrEqual(after);

      // An empty answer (the long poll timing out) is not a delivery.
      await callApi(sim(), 'getUpdates', { get_updates_buf: answer.json?.get_updates_buf }, { token: bot.token });
      expect(deliveries).toHaveLength(1);
    } finally {
      stop();
    }
  });

  test('stops calling after unsubscribe', async () => {
    const bot = sim().admin.createBot();
    const listener = jest.fn();
    sim().admin.onDelivered(listener)();
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
    await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(listener).not.toHaveBeenCalled();
  });
});
