/** The admin API over HTTP, the chat and phone pages, and stop(). */
import { request } from 'undici';
import { startSimulator } from '../../simulator';
import { callApi, getQrcode, http, textMessage, useSimulator } from './helpers';

describe('admin HTTP API', () => {
  const sim = useSimulator({ longPollTimeoutMs: 300, typingDisplayMs: 500 });
  const admin = (path: string) => `${sim().url}/_admin${path}`;

  test('bots, messages, sent, wait, timeline', async () => {
    const created = await http(admin('/bots'), { json: { ownerUserId: 'owner@im.wechat' } });
    expect(created.status).toBe(200);
    const bot = created.json as { botId: string; token: string; ownerUserId: string; baseUrl: string };
    expect(bot).toMatchObject({ ownerUserId: 'owner@im.wechat', baseUrl: sim().url });
    expect((await http(admin('/bots'))).json).toHaveLength(1);

    const injected = await http(admin('/messages'), { json: { botId: bot.botId, from: 'alice@im.wechat', text: 'hello' } });
    const { messageId, contextToken } = injected.json as { messageId: string; contextToken: string };
    expect(messageId).toMatch(/^\d+$/);

    const waiting = http(admin('/sent/wait'), { json: { botId: bot.botId, to: 'alice@im.wechat', textIncludes: 'pong', timeoutMs: 2000 } });
    await callApi(sim(), 'sendMessage', textMessage('alice@im.wechat', contextToken, 'pong!'), { token: bot.token });
    const waited = await waiting;
    expect(waited.status).toBe(200);
    expect(waited.json).toMatchObject({ botId: bot.botId, to: 'alice@im.wechat', index: 0 });

    const sent = await http(admin(`/sent?botId=${encodeURIComponent(bot.botId)}&to=alice%40im.wechat`));
    expect(sent.json).toHaveLength(1);
    const none = await http(admin('/sent?to=bob%40im.wechat'));
    expect(none.json).toEqual([]);
    const timeout = await http(admin('/sent/wait'), { json: { afterIndex: 0, timeoutMs: 50 } });
    expect(timeout.status).toBe(408);
    const timeline = await http(admin(`/timeline?botId=${encodeURIComponent(bot.botId)}`));
    expect((timeline.json as unknown as Array<{ direction: string }>).map((entry) => entry.direction)).toEqual(['in', 'out']);
  });

  test('faults, expire-session, expire-context-token, typing, notifications, requests', async () => {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });

    expect((await http(admin('/faults'), { json: { endpoint: 'getConfig', kind: 'http5xx', status: 503 } })).json).toEqual({ ok: true });
    expect((await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token })).status).toBe(503);
    expect((await http(admin('/faults'), { json: { endpoint: 'nope', kind: 'drop' } })).status).toBe(400);

    const config = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    await callApi(sim(), 'sendTyping', { ilink_user_id: 'alice@im.wechat', typing_ticket: config.json?.typing_ticket, status: 1 }, { token: bot.token });
    const typing = await http(admin(`/typing?botId=${encodeURIComponent(bot.botId)}&userId=alice%40im.wechat`));
    expect(typing.json).toMatchObject({ typing: true, status: 1 });

    await callApi(sim(), 'notifyStart', {}, { token: bot.token });
    expect((await http(admin(`/notifications?botId=${encodeURIComponent(bot.botId)}`))).json).toMatchObject([{ kind: 'start' }]);

    const requests = await http(admin('/requests?endpoint=notifyStart'));
    expect(requests.json).toHaveLength(1);
    expect((requests.json as unknown as Array<{ headers: Record<string, string> }>)[0].headers['ilink-app-clientversion']).toBe('132105');

    await http(admin('/expire-context-token'), { json: { botId: bot.botId, userId: 'alice@im.wechat' } });
    expect((await callApi(sim(), 'sendMessage', textMessage('alice@im.wechat', contextToken), { token: bot.token })).json?.ret).toBe(-2);

    await http(admin('/expire-session'), { json: { botId: bot.botId } });
    expect((await callApi(sim(), 'notifyStop', {}, { token: bot.token })).json).toEqual({ errcode: -14, errmsg: 'session timeout' });
    expect((await http(admin('/expire-session'), { json: {} })).status).toBe(400);
  });

  test('POST /_admin/messages keeps uint64 IDs exact: a bare svr_id of 2^64-1 in a raw refMsg reaches the wire unchanged', async () => {
    const bot = sim().admin.createBot();
    const raw = `{"botId":"${bot.botId}","from":"alice@im.wechat","text":"q","refMsg":{"svr_id":18446744073709551615,"message_item":{"type":1,"msg_id":9007199254740993,"text_item":{"text":"svr_id: 1"}}}}`;
    const posted = await request(admin('/messages'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw });
    expect(posted.statusCode).toBe(200);
    await posted.body.text();
    const updates = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(updates.text).toContain('"svr_id":18446744073709551615');
    expect(updates.json?.msgs[0].item_list[0].ref_msg).toEqual({
      svr_id: '18446744073709551615',
      message_item: { type: 1, msg_id: '9007199254740993', text_item: { text: 'svr_id: 1' } },
    });
    // Item msg_id stays a JSON string on the wire (§4).
    expect(updates.text).toContain('"msg_id":"9007199254740993"');
  });

  test('POST /_admin/faults takes a duplicate fault', async () => {
    const bot = sim().admin.createBot();
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
    expect((await http(admin('/faults'), { json: { endpoint: 'getUpdates', kind: 'duplicate', delayMs: 20 } })).json).toEqual({ ok: true });
    expect((await http(admin('/faults'), { json: { endpoint: 'sendMessage', kind: 'duplicate' } })).status).toBe(400);
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const second = await callApi(sim(), 'getUpdates', { get_updates_buf: first.json?.get_updates_buf }, { token: bot.token });
    expect([...first.json?.msgs, ...second.json?.msgs].map((m: any) => m.message_id)).toEqual([messageId, messageId]);
  });

  test('GET /_admin/info lists the replay and quote modes', async () => {
    expect((await http(admin('/info'))).json).toMatchObject({ strict: true, replay: false, idOnlyQuotes: true });
  });

  test('login scenario and QR actions', async () => {
    await http(admin('/login-scenario'), { json: { verifyCode: true } });
    const { qrcode } = await getQrcode(sim());
    expect((await http(admin('/qr/last'))).json).toEqual({ qrcode });
    expect((await http(admin('/qr/scan'), { json: { qrcode } })).json).toEqual({ status: 'need_verifycode' });
    const { verifyCode } = (await http(admin(`/qr/verify-code?qrcode=${qrcode}`))).json as { verifyCode: string };
    expect(verifyCode).toBe(sim().admin.verifyCodeFor(qrcode));
    expect((await http(admin('/qr/confirm'), { json: { qrcode } })).status).toBe(400);
    expect((await http(admin('/qr/cancel'), { json: { qrcode } })).json).toEqual({ status: 'expired' });
  });

  test('reset forgets everything; unknown routes 404; wrong method 405', async () => {
    const bot = sim().admin.createBot();
    expect((await http(admin('/reset'), { json: {} })).json).toEqual({ ok: true });
    expect(sim().admin.bots()).toEqual([]);
    expect((await callApi(sim(), 'notifyStart', {}, { token: bot.token })).json?.errcode).toBe(-14);
    expect((await http(admin('/nothing'))).status).toBe(404);
    expect((await http(admin('/reset'))).status).toBe(405);
    expect((await http(admin('/messages'), { json: { from: 'x@im.wechat', text: 'no bot' } })).status).toBe(400);
  });

  test('info tells the URLs', async () => {
    const info = (await http(admin('/info'))).json;
    expect(info).toMatchObject({ url: sim().url, apiBaseUrl: sim().apiBaseUrl, cdnBaseUrl: sim().cdnBaseUrl, chatUrl: sim().chatUrl, strict: true });
  });
});

describe('pages', () => {
  const sim = useSimulator({ typingDisplayMs: 500 });

  test('the chat page and its assets are served', async () => {
    const page = await http(sim().chatUrl);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('对方正在输入');
    expect(page.text).toContain('/public/chat.js');
    const script = await http(`${sim().url}/public/chat.js`);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.text).toContain('ITEM_RENDERERS');
    expect((await http(`${sim().url}/public/chat.css`)).status).toBe(200);
    expect((await http(`${sim().url}/public/..%2Fstate.ts`)).status).toBe(404);
    expect((await http(`${sim().url}/public/missing.js`)).status).toBe(404);
  });

  test('chat state lists bots, users, conversation and typing', async () => {
    const bot = sim().admin.createBot({ ownerUserId: 'owner@im.wechat' });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
    const state = (await http(`${sim().url}/_chat/state?botId=${encodeURIComponent(bot.botId)}`)).json;
    expect(state?.bots).toEqual([{ botId: bot.botId, ownerUserId: 'owner@im.wechat', sessionExpired: false }]);
    expect(state?.users).toEqual(['owner@im.wechat', 'alice@im.wechat']);
    expect(state?.timeline).toHaveLength(1);
    expect(JSON.stringify(state)).not.toContain(bot.token);
  });

  test('chat events stream messages, typing and recalls', async () => {
    const bot = sim().admin.createBot();
    const response = await request(`${sim().url}/_chat/events?botId=${encodeURIComponent(bot.botId)}`);
    expect(response.headers['content-type']).toMatch(/text\/event-stream/);
    let received = '';
    const done = new Promise<void>((resolve) => {
      response.body.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        if (received.includes('event: recall')) resolve();
      });
    });
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'over SSE' });
    const config = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    await callApi(sim(), 'sendTyping', { ilink_user_id: 'alice@im.wechat', typing_ticket: config.json?.typing_ticket, status: 1 }, { token: bot.token });
    const sent = await callApi(sim(), 'sendMessage', textMessage('alice@im.wechat', contextToken, 'reply'), { token: bot.token });
    await callApi(sim(), 'recallMessage', {}, { token: bot.token, raw: `{"msg_id":${sent.json?.message_id},"base_info":{}}` });
    await done;
    response.body.destroy();
    expect(received).toContain('over SSE');
    expect(received).toMatch(/event: typing\ndata: \{"userId":"alice@im.wechat","typing":true/);
    expect(received).toContain('"direction":"out"');
    expect(received).toContain(`"messageId":"${sent.json?.message_id}"`);
  });

  test('the phone page is plain HTML with both languages, and escapes values', async () => {
    const { qrcode_img_content } = await getQrcode(sim());
    const page = await http(qrcode_img_content);
    expect(page.text).toContain('确认登录 / Confirm');
    expect(page.text).toContain('取消 / Cancel');
    expect(page.text).toMatch(/<section id="verify" class="verify" hidden>/);
    expect(page.text).not.toContain('{{');
  });
});

describe('stop()', () => {
  test('ends promptly with a pending long poll and a pending QR poll', async () => {
    const sim = await startSimulator({ longPollTimeoutMs: 20_000 });
    const bot = sim.admin.createBot();
    const { qrcode } = await getQrcode(sim);
    const poll = callApi(sim, 'getUpdates', { get_updates_buf: '' }, { token: bot.token }).then(
      () => 'answered',
      () => 'failed',
    );
    const qrPoll = http(`${sim.apiBaseUrl}ilink/bot/get_qrcode_status?qrcode=${qrcode}`, { headers: { 'iLink-App-Id': 'bot', 'iLink-App-ClientVersion': '1' } }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await sim.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await poll).toBe('failed');
    expect(await qrPoll).toBe('failed');
    await sim.stop();
  });
});
