/** Strict request checks (§1, §2, §6) and what lenient mode lets through. */
import { callApi, callApiBare, GET_HEADERS, getQrcode, getQrStatus, postHeaders, textMessage, useSimulator } from './helpers';
import { isValidWechatUin } from '../../simulator/rules';

describe('strict mode refuses what the official client never sends', () => {
  const sim = useSimulator();

  function botWithToken() {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'hi' });
    return { bot, contextToken };
  }

  test('a well-formed request passes (control)', async () => {
    const { bot } = botWithToken();
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ ret: 0 });
  });

  test('a POST without AuthorizationType → HTTP 401 {ret:-1}', async () => {
    const { bot } = botWithToken();
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token, omit: ['AuthorizationType'] });
    expect(result.status).toBe(401);
    expect(result.json?.ret).toBe(-1);
    expect(typeof result.json?.errmsg).toBe('string');
  });

  test('get_bot_qrcode needs AuthorizationType too', async () => {
    const result = await callApi(sim(), 'getBotQrcode', { local_token_list: [] }, { query: '?bot_type=3', omit: ['AuthorizationType'] });
    expect(result.status).toBe(401);
  });

  test('an authed endpoint without a bearer token → HTTP 401', async () => {
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' });
    expect(result.status).toBe(401);
    expect(result.json?.ret).toBe(-1);
  });

  test('an unknown token → HTTP 200 {errcode:-14} without ret', async () => {
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: 'nope' });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ errcode: -14, errmsg: 'session timeout' });
  });

  test('wrong method → 405; unknown path → 404', async () => {
    const { bot } = botWithToken();
    const get = await callApi(sim(), 'getUpdates', {}, { token: bot.token, method: 'GET' });
    expect(get.status).toBe(405);
    const qrGet = await callApi(sim(), 'getBotQrcode', {}, { method: 'GET', query: '?bot_type=3' });
    expect(qrGet.status).toBe(405);
    const statusPost = await callApi(sim(), 'getQrcodeStatus', {}, { token: bot.token });
    expect(statusPost.status).toBe(405);
    const { request } = await import('undici');
    const unknown = await request(new URL('ilink/bot/nothing_here', sim().apiBaseUrl), { method: 'POST', headers: postHeaders(bot.token), body: '{}' });
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
  });

  test('Content-Type other than application/json is refused', async () => {
    const { bot } = botWithToken();
    const headers = { ...postHeaders(bot.token), 'Content-Type': 'text/plain' };
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { headers });
    expect(result.status).toBe(415);
  });

  test('malformed JSON → HTTP 400', async () => {
    const { bot } = botWithToken();
    const result = await callApi(sim(), 'getUpdates', {}, { token: bot.token, raw: '{"get_updates_buf": ' });
    expect(result.status).toBe(400);
    const array = await callApi(sim(), 'getUpdates', {}, { token: bot.token, raw: '[]' });
    expect(array.status).toBe(400);
  });

  test('missing base_info → {ret:-2}', async () => {
    const { bot } = botWithToken();
    const result = await callApiBare(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(result.status).toBe(200);
    expect(result.json?.ret).toBe(-2);
    expect(result.json?.errmsg).toMatch(/base_info/);
  });

  test('get_bot_qrcode with base_info or without bot_type=3 is refused', async () => {
    const withBaseInfo = await callApi(sim(), 'getBotQrcode', { local_token_list: [], base_info: {} }, { query: '?bot_type=3' });
    expect(withBaseInfo.json?.ret).toBe(-2);
    const noBotType = await callApi(sim(), 'getBotQrcode', { local_token_list: [] });
    expect(noBotType.json?.ret).toBe(-2);
    const noList = await callApi(sim(), 'getBotQrcode', {}, { query: '?bot_type=3' });
    expect(noList.json?.ret).toBe(-2);
  });

  test('sendmessage with 2 items → ret -2', async () => {
    const { bot, contextToken } = botWithToken();
    const body = textMessage('alice@im.wechat', contextToken) as { msg: Record<string, unknown> };
    body.msg.item_list = [
      { type: 1, text_item: { text: 'a' } },
      { type: 1, text_item: { text: 'b' } },
    ];
    const result = await callApi(sim(), 'sendMessage', body, { token: bot.token });
    expect(result.json).toMatchObject({ ret: -2, errmsg: expect.stringMatching(/exactly one/) });
    expect(sim().admin.sentMessages()).toHaveLength(0);
  });

  test.each([
    ['no client_id', { client_id: undefined }, /client_id/],
    ['from_user_id not ""', { from_user_id: 'bot' }, /from_user_id/],
    ['message_type 1', { message_type: 1 }, /message_type/],
    ['message_state 1', { message_state: 1 }, /message_state/],
    ['no to_user_id', { to_user_id: undefined }, /to_user_id/],
    ['empty item_list', { item_list: [] }, /item_list/],
    ['empty text', { item_list: [{ type: 1, text_item: { text: '' } }] }, /text/],
    ['image without media', { item_list: [{ type: 2, image_item: {} }] }, /encrypt_query_param/],
  ])('sendmessage with %s → ret -2', async (_name, change, errmsg) => {
    const { bot, contextToken } = botWithToken();
    const body = textMessage('alice@im.wechat', contextToken) as { msg: Record<string, unknown> };
    body.msg = { ...body.msg, ...change };
    const result = await callApi(sim(), 'sendMessage', body, { token: bot.token });
    expect(result.json?.ret).toBe(-2);
    expect(result.json?.errmsg).toMatch(errmsg);
  });

  test('getupdates with the deprecated sync_buf → ret -2; a non-string cursor → ret -2', async () => {
    const { bot } = botWithToken();
    const syncBuf = await callApi(sim(), 'getUpdates', { get_updates_buf: '', sync_buf: '' }, { token: bot.token });
    expect(syncBuf.json?.ret).toBe(-2);
    const numeric = await callApi(sim(), 'getUpdates', { get_updates_buf: 5 }, { token: bot.token });
    expect(numeric.json?.ret).toBe(-2);
  });

  test.each([
    ['missing', undefined],
    ['not base64', '12345'],
    ['base64 of non-digits', Buffer.from('hello').toString('base64')],
    ['base64 of a number above uint32', Buffer.from('4294967296').toString('base64')],
    ['unpadded base64', 'MzczNTkyODU1OQ'],
  ])('X-WECHAT-UIN %s → HTTP 400', async (_name, value) => {
    const { bot } = botWithToken();
    const headers = postHeaders(bot.token);
    if (value === undefined) delete headers['X-WECHAT-UIN'];
    else headers['X-WECHAT-UIN'] = value;
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { headers });
    expect(result.status).toBe(400);
  });

  test('the sheet example UIN is valid', () => {
    expect(isValidWechatUin('MzczNTkyODU1OQ==')).toBe(true);
    expect(isValidWechatUin(Buffer.from('0').toString('base64'))).toBe(true);
    expect(isValidWechatUin(Buffer.from('007').toString('base64'))).toBe(false);
  });

  test('missing iLink-App-Id or a non-decimal ClientVersion → HTTP 400; an empty App-Id is tolerated', async () => {
    const { bot } = botWithToken();
    const noAppId = await callApi(sim(), 'getConfig', { ilink_user_id: 'a@im.wechat' }, { token: bot.token, omit: ['iLink-App-Id'] });
    expect(noAppId.status).toBe(400);
    const badVersion = await callApi(sim(), 'getConfig', { ilink_user_id: 'a@im.wechat' }, { headers: { ...postHeaders(bot.token), 'iLink-App-ClientVersion': '2.4.9' } });
    expect(badVersion.status).toBe(400);
    const emptyAppId = await callApi(sim(), 'getConfig', { ilink_user_id: 'a@im.wechat' }, { headers: { ...postHeaders(bot.token), 'iLink-App-Id': '' } });
    expect(emptyAppId.status).toBe(200);
  });

  test('GET get_qrcode_status carrying POST headers → HTTP 400', async () => {
    const { qrcode } = await getQrcode(sim());
    const extras: Array<Record<string, string>> = [{ 'Content-Type': 'application/json' }, { AuthorizationType: 'ilink_bot_token' }, { Authorization: 'Bearer x' }, { 'X-WECHAT-UIN': 'MTIz' }];
    for (const extra of extras) {
      const result = await getQrStatus(sim(), qrcode, { headers: { ...GET_HEADERS, ...extra } });
      expect(result.status).toBe(400);
    }
    const noVersion = await getQrStatus(sim(), qrcode, { headers: { 'iLink-App-Id': 'bot' } });
    expect(noVersion.status).toBe(400);
  });

  test('every API request is recorded with headers and parsed body', async () => {
    const { bot } = botWithToken();
    await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    const [recorded] = sim().admin.requests({ endpoint: 'getConfig' });
    expect(recorded.method).toBe('POST');
    expect(recorded.path).toBe('/ilink/bot/getconfig');
    expect(recorded.headers.authorization).toBe(`Bearer ${bot.token}`);
    expect(recorded.headers.authorizationtype).toBe('ilink_bot_token');
    expect(recorded.body).toEqual({ base_info: { channel_version: '2.4.9', bot_agent: 'SimTest/1.0' }, ilink_user_id: 'alice@im.wechat' });
    expect(recorded.botId).toBe(bot.botId);
  });
});

describe('lenient mode accepts what only unofficial clients do, but still wants auth', () => {
  const sim = useSimulator({ strict: false });

  test('several items, no base_info, no client_id, odd headers', async () => {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hi' });
    const body = {
      msg: {
        to_user_id: 'bob@im.wechat',
        context_token: contextToken,
        item_list: [
          { type: 1, text_item: { text: 'a' } },
          { type: 1, text_item: { text: 'b' } },
        ],
      },
    };
    const result = await callApiBare(sim(), 'sendMessage', body, { token: bot.token, omit: ['X-WECHAT-UIN', 'iLink-App-Id', 'iLink-App-ClientVersion'] });
    expect(result.json?.ret).toBe(0);
    expect(sim().admin.sentMessages({ to: 'bob@im.wechat' })[0].msg.item_list).toHaveLength(2);
  });

  test('the legacy GET get_bot_qrcode works; getupdates without base_info works', async () => {
    const { request } = await import('undici');
    const response = await request(new URL('ilink/bot/get_bot_qrcode?bot_type=3', sim().apiBaseUrl));
    const answer = (await response.body.json()) as { qrcode: string };
    expect(response.statusCode).toBe(200);
    expect(answer.qrcode).toEqual(expect.any(String));
    const bot = sim().admin.createBot();
    const updates = await callApiBare(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(updates.json?.ret).toBe(0);
  });

  test('auth is still required', async () => {
    const noType = await callApiBare(sim(), 'getUpdates', {}, { omit: ['AuthorizationType'] });
    expect(noType.status).toBe(401);
    const noBearer = await callApiBare(sim(), 'getUpdates', {});
    expect(noBearer.status).toBe(401);
    const badToken = await callApiBare(sim(), 'getUpdates', {}, { token: 'nope' });
    expect(badToken.json).toEqual({ errcode: -14, errmsg: 'session timeout' });
  });
});
