/** Injected faults, consumed in order per endpoint. */
import { callApi, getQrcode, getQrStatus, textMessage, useSimulator } from './helpers';

describe('faults', () => {
  const sim = useSimulator({ longPollTimeoutMs: 300 });

  function botWithMessage() {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
    return { bot, contextToken };
  }

  test('http5xx answers the given status once, then normal service resumes', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'http5xx', status: 524 });
    const failed = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(failed.status).toBe(524);
    const ok = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(ok.json?.msgs).toHaveLength(1);
  });

  test('count applies a fault to several requests; faults queue in order per endpoint', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'getConfig', kind: 'ret', ret: -5, count: 2 });
    sim().admin.injectFault({ endpoint: 'getConfig', kind: 'ret-2' });
    const body = { ilink_user_id: 'alice@im.wechat' };
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await callApi(sim(), 'getConfig', body, { token: bot.token })).json?.ret);
    expect(answers).toEqual([-5, -5, -2, 0]);
  });

  test('faults only hit their own endpoint', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'http5xx' });
    expect((await callApi(sim(), 'getConfig', { ilink_user_id: 'a@im.wechat' }, { token: bot.token })).status).toBe(200);
    expect(sim().admin.pendingFaults()).toEqual([{ endpoint: 'sendMessage', kind: 'http5xx', count: 1 }]);
  });

  test('drop destroys the socket without an answer', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'drop' });
    await expect(callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token })).rejects.toThrow();
    expect((await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token })).json?.msgs).toHaveLength(1);
  });

  test('malformed answers 200 with a body that is not JSON', async () => {
    const { bot, contextToken } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'malformed' });
    const result = await callApi(sim(), 'sendMessage', textMessage('alice@im.wechat', contextToken), { token: bot.token });
    expect(result.status).toBe(200);
    expect(result.json).toBeUndefined();
    expect(() => JSON.parse(result.text)).toThrow();
    expect(sim().admin.sentMessages()).toHaveLength(0);
  });

  test('errcode-14 answers -14 without ret, while the token stays valid', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'errcode-14' });
    expect((await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token })).json).toEqual({ errcode: -14, errmsg: 'session timeout' });
    expect((await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token })).json?.ret).toBe(0);
  });

  test('delay waits, then answers normally', async () => {
    const { bot, contextToken } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'delay', delayMs: 200 });
    const started = Date.now();
    const result = await callApi(sim(), 'sendMessage', textMessage('alice@im.wechat', contextToken), { token: bot.token });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(result.json?.ret).toBe(0);
  });

  test('slowBody sends the normal answer in pieces with pauses', async () => {
    const { bot } = botWithMessage();
    sim().admin.injectFault({ endpoint: 'getConfig', kind: 'slowBody', delayMs: 60 });
    const started = Date.now();
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 55);
    expect(result.json?.ret).toBe(0);
    expect(typeof result.json?.typing_ticket).toBe('string');
  });

  test('duplicate: the same messages arrive again in a later answer, delayMs later (§10 #239)', async () => {
    const bot = sim().admin.createBot();
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'twice' });
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'duplicate', delayMs: 50 });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const delivered = Date.now();
    expect(first.json?.msgs.map((m: any) => m.message_id)).toEqual([messageId]);
    expect(sim().admin.pendingFaults()).toEqual([]);

    const second = await callApi(sim(), 'getUpdates', { get_updates_buf: first.json?.get_updates_buf }, { token: bot.token });
    expect(Date.now() - delivered).toBeGreaterThanOrEqual(40);
    expect(Date.now() - delivered).toBeLessThan(250);
    expect(second.json?.msgs).toHaveLength(1);
    // Same message_id and content: a true duplicate, not a new message.
    expect(second.json?.msgs[0]).toEqual(first.json?.msgs[0]);
    expect(second.text).toContain(`"message_id":${messageId}`);
    // Once only.
    const third = await callApi(sim(), 'getUpdates', { get_updates_buf: second.json?.get_updates_buf }, { token: bot.token });
    expect(third.json?.msgs).toEqual([]);
  });

  test('duplicate: taken by an empty answer, it waits for the next answer that carries messages', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'duplicate', delayMs: 30 });
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'http5xx', status: 502 });
    const empty = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(empty.json?.msgs).toEqual([]);
    expect(sim().admin.pendingFaults()).toEqual([
      { endpoint: 'getUpdates', kind: 'duplicate', delayMs: 30, count: 1, armed: true },
      { endpoint: 'getUpdates', kind: 'http5xx', status: 502, count: 1 },
    ]);
    // The next fault in the queue applies to the next request as usual.
    expect((await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token })).status).toBe(502);

    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'later' });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(first.json?.msgs.map((m: any) => m.message_id)).toEqual([messageId]);
    const again = await callApi(sim(), 'getUpdates', { get_updates_buf: first.json?.get_updates_buf }, { token: bot.token });
    expect(again.json?.msgs.map((m: any) => m.message_id)).toEqual([messageId]);
    expect(sim().admin.pendingFaults()).toEqual([]);
  });

  test('duplicate is for getUpdates only', () => {
    expect(() => sim().admin.injectFault({ endpoint: 'sendMessage', kind: 'duplicate' })).toThrow(/getUpdates only/);
  });

  test('QR endpoints take faults too (a 5xx counts as wait for the client)', async () => {
    const { qrcode } = await getQrcode(sim());
    sim().admin.injectFault({ endpoint: 'getQrcodeStatus', kind: 'http5xx', status: 502 });
    expect((await getQrStatus(sim(), qrcode)).status).toBe(502);
  });

  test('unknown endpoint or kind is refused', () => {
    expect(() => sim().admin.injectFault({ endpoint: 'nope' as 'getUpdates', kind: 'drop' })).toThrow(/unknown endpoint/);
    expect(() => sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'boom' as 'drop' })).toThrow(/unknown fault kind/);
    expect(() => sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'drop', count: 0 })).toThrow(/count/);
  });
});
