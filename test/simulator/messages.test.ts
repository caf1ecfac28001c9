/** sendmessage, context tokens, recall, typing, notify and getuploadurl (§2, §6, §7). */
import { callApi, textMessage, useSimulator } from './helpers';

describe('sendmessage and context tokens', () => {
  const sim = useSimulator();

  function conversation(user = 'alice@im.wechat') {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: user, text: 'hi' });
    return { bot, contextToken, user };
  }

  test('a valid send answers ret 0 with a bare uint64 message_id, and is recorded', async () => {
    const { bot, contextToken, user } = conversation();
    const result = await callApi(sim(), 'sendMessage', textMessage(user, contextToken, 'pong'), { token: bot.token });
    expect(result.json?.ret).toBe(0);
    expect(result.text).toMatch(/"message_id":\d{16,}[,}]/);
    const messageId = result.json?.message_id as string;
    expect(BigInt(messageId)).toBeGreaterThan(2n ** 53n);
    const [sent] = sim().admin.sentMessages({ botId: bot.botId, to: user });
    expect(sent).toMatchObject({ messageId, to: user, botId: bot.botId, recalled: false });
    expect(sent.msg.item_list?.[0].text_item?.text).toBe('pong');
    expect(sent.clientId).toMatch(/^simtest:/);
    expect(sim().admin.timeline(bot.botId).map((entry) => entry.direction)).toEqual(['in', 'out']);
  });

  test('missing, unknown or another user’s context token → ret -2 "context token invalid"', async () => {
    const { bot, user } = conversation();
    const { contextToken: bobsToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hey' });
    for (const token of [undefined, 'unknown-token', bobsToken]) {
      const result = await callApi(sim(), 'sendMessage', textMessage(user, token), { token: bot.token });
      expect(result.status).toBe(200);
      expect(result.json).toEqual({ ret: -2, errmsg: 'context token invalid' });
    }
    expect(sim().admin.sentMessages()).toHaveLength(0);
  });

  test('an older token of the same user still works (the reply window decides, send-rules.test.ts)', async () => {
    const { bot, contextToken: older, user } = conversation();
    sim().admin.injectMessage({ botId: bot.botId, from: user, text: 'again' });
    expect((await callApi(sim(), 'sendMessage', textMessage(user, older), { token: bot.token })).json?.ret).toBe(0);
  });

  test('admin.expireContextToken closes the window: {"ret":-2} until the user writes again', async () => {
    const { bot, contextToken, user } = conversation();
    sim().admin.expireContextToken(bot.botId, user);
    const result = await callApi(sim(), 'sendMessage', textMessage(user, contextToken), { token: bot.token });
    expect(result.json).toEqual({ ret: -2 });
    sim().admin.injectMessage({ botId: bot.botId, from: user, text: 'back' });
    // Any token of that user counts again, the old one too.
    expect((await callApi(sim(), 'sendMessage', textMessage(user, contextToken), { token: bot.token })).json?.ret).toBe(0);
  });

  test('expireSession → errcode -14 without ret on every authed endpoint', async () => {
    const { bot, contextToken, user } = conversation();
    sim().admin.expireSession(bot.botId);
    const calls = [
      callApi(sim(), 'sendMessage', textMessage(user, contextToken), { token: bot.token }),
      callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token }),
      callApi(sim(), 'getConfig', { ilink_user_id: user }, { token: bot.token }),
      callApi(sim(), 'notifyStart', {}, { token: bot.token }),
    ];
    for (const result of await Promise.all(calls)) {
      expect(result.json).toEqual({ errcode: -14, errmsg: 'session timeout' });
      expect(result.json).not.toHaveProperty('ret');
    }
  });

  test('waitForSent resolves on a later send and times out otherwise', async () => {
    const { bot, contextToken, user } = conversation();
    const waiting = sim().admin.waitForSent((record) => record.msg.item_list?.[0].text_item?.text === 'later', 2000);
    await callApi(sim(), 'sendMessage', textMessage(user, contextToken, 'later'), { token: bot.token });
    expect((await waiting).botId).toBe(bot.botId);
    await expect(sim().admin.waitForSent(() => false, 50)).rejects.toThrow(/50 ms/);
  });

  test('recallmessage marks a sent message recalled; unknown ids answer ret -1', async () => {
    const { bot, contextToken, user } = conversation();
    const sent = await callApi(sim(), 'sendMessage', textMessage(user, contextToken), { token: bot.token });
    const messageId = sent.json?.message_id as string;
    // The ID goes back as a bare JSON number, too big for a double.
    const raw = `{"msg_id":${messageId},"base_info":{"channel_version":"2.4.9"}}`;
    const recalled = await callApi(sim(), 'recallMessage', {}, { token: bot.token, raw });
    expect(recalled.json).toEqual({ ret: 0 });
    expect(sim().admin.sentMessages()[0].recalled).toBe(true);
    expect(sim().admin.timeline(bot.botId)[1].recalled).toBe(true);

    const precisionLost = `{"msg_id":${BigInt(messageId) + 1n},"base_info":{}}`;
    expect((await callApi(sim(), 'recallMessage', {}, { token: bot.token, raw: precisionLost })).json).toEqual({ ret: -1, errmsg: 'message not found' });
    const quoted = `{"msg_id":"${messageId}","base_info":{}}`;
    expect((await callApi(sim(), 'recallMessage', {}, { token: bot.token, raw: quoted })).json?.ret).toBe(-2);
  });
});

describe('typing and notify', () => {
  const sim = useSimulator({ typingDisplayMs: 200 });

  test('getconfig gives a stable base64 ticket; sendtyping validates it and records typing state', async () => {
    const bot = sim().admin.createBot();
    const config = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat', context_token: 'whatever' }, { token: bot.token });
    const ticket = config.json?.typing_ticket as string;
    expect(config.json?.ret).toBe(0);
    expect(Buffer.from(ticket, 'base64').toString('base64')).toBe(ticket);
    const again = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    expect(again.json?.typing_ticket).toBe(ticket);

    expect(sim().admin.typingState(bot.botId, 'alice@im.wechat').typing).toBe(false);
    const typing = await callApi(sim(), 'sendTyping', { ilink_user_id: 'alice@im.wechat', typing_ticket: ticket, status: 1 }, { token: bot.token });
    expect(typing.json).toEqual({ ret: 0 });
    expect(sim().admin.typingState(bot.botId, 'alice@im.wechat')).toMatchObject({ typing: true, status: 1 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(sim().admin.typingState(bot.botId, 'alice@im.wechat').typing).toBe(false);

    await callApi(sim(), 'sendTyping', { ilink_user_id: 'alice@im.wechat', typing_ticket: ticket, status: 1 }, { token: bot.token });
    await callApi(sim(), 'sendTyping', { ilink_user_id: 'alice@im.wechat', typing_ticket: ticket, status: 2 }, { token: bot.token });
    expect(sim().admin.typingState(bot.botId, 'alice@im.wechat')).toMatchObject({ typing: false, status: 2 });
  });

  test('sendtyping refuses unknown tickets, another user’s ticket and bad status', async () => {
    const bot = sim().admin.createBot();
    const config = await callApi(sim(), 'getConfig', { ilink_user_id: 'alice@im.wechat' }, { token: bot.token });
    const ticket = config.json?.typing_ticket as string;
    const cases = [
      { ilink_user_id: 'alice@im.wechat', typing_ticket: 'bm9wZQ==', status: 1 },
      { ilink_user_id: 'bob@im.wechat', typing_ticket: ticket, status: 1 },
      { ilink_user_id: 'alice@im.wechat', typing_ticket: ticket, status: 3 },
    ];
    for (const body of cases) {
      expect((await callApi(sim(), 'sendTyping', body, { token: bot.token })).json?.ret).toBe(-2);
    }
    expect((await callApi(sim(), 'getConfig', {}, { token: bot.token })).json?.ret).toBe(-2);
  });

  test('notifystart / notifystop answer ret 0 and are recorded', async () => {
    const bot = sim().admin.createBot();
    expect((await callApi(sim(), 'notifyStart', {}, { token: bot.token })).json).toEqual({ ret: 0 });
    expect((await callApi(sim(), 'notifyStop', {}, { token: bot.token })).json).toEqual({ ret: 0 });
    expect(sim().admin.notifications(bot.botId).map((n) => n.kind)).toEqual(['start', 'stop']);
  });
});

describe('getuploadurl', () => {
  const sim = useSimulator();
  const valid = {
    filekey: '0123456789abcdef0123456789abcdef',
    media_type: 1,
    to_user_id: 'alice@im.wechat',
    rawsize: 100,
    rawfilemd5: 'd41d8cd98f00b204e9800998ecf8427e',
    filesize: 112,
    no_need_thumb: true,
    aeskey: 'fedcba9876543210fedcba9876543210',
  };

  test.each([
    ['filekey not hex', { filekey: 'photo.jpg' }],
    ['uppercase aeskey', { aeskey: 'FEDCBA9876543210FEDCBA9876543210' }],
    ['base64 aeskey', { aeskey: Buffer.alloc(16).toString('base64') }],
    ['filesize not padded', { filesize: 100 }],
    ['filesize for n=96 without the extra block', { rawsize: 96, filesize: 96 }],
    ['no_need_thumb missing', { no_need_thumb: undefined }],
    ['media_type 5', { media_type: 5 }],
    ['bad md5', { rawfilemd5: 'xyz' }],
    ['no to_user_id', { to_user_id: undefined }],
  ])('refuses %s with ret -2', async (_name, change) => {
    const bot = sim().admin.createBot();
    const result = await callApi(sim(), 'getUploadUrl', { ...valid, ...change }, { token: bot.token });
    expect(result.json?.ret).toBe(-2);
  });

  test('a valid request is authorized by the CDN; uploadFullUrl adds upload_full_url', async () => {
    const bot = sim().admin.createBot();
    const seen: unknown[] = [];
    const cdn = sim().cdn;
    const original = cdn.authorizeUpload;
    cdn.authorizeUpload = (request) => {
      seen.push(request);
      return { upload_param: 'param/with+chars=' };
    };
    try {
      const plain = await callApi(sim(), 'getUploadUrl', valid, { token: bot.token });
      expect(plain.json).toEqual({ ret: 0, upload_param: 'param/with+chars=' });
      expect(seen[0]).toMatchObject(valid);
      sim().admin.setApiScenario({ uploadFullUrl: true });
      const full = await callApi(sim(), 'getUploadUrl', valid, { token: bot.token });
      expect(full.json?.upload_full_url).toBe(`${sim().cdnBaseUrl}/upload?encrypted_query_param=param%2Fwith%2Bchars%3D&filekey=${valid.filekey}`);
    } finally {
      cdn.authorizeUpload = original;
    }
  });

  test('CDN paths are routed to the CDN under the base path', async () => {
    const cdn = sim().cdn;
    const original = cdn.handle;
    const paths: string[] = [];
    cdn.handle = async (_req, res, pathname, query) => {
      paths.push(`${pathname}?${query.toString()}`);
      res.end('ok');
    };
    try {
      const { request } = await import('undici');
      const response = await request(`${sim().cdnBaseUrl}/download?encrypted_query_param=abc`);
      expect(await response.body.text()).toBe('ok');
      expect(paths).toEqual(['/c2c/download?encrypted_query_param=abc']);
    } finally {
      cdn.handle = original;
    }
  });

  test('round trip with the real CDN: getuploadurl → upload → send image → download', async () => {
    const { createCipheriv, createHash, randomBytes } = await import('node:crypto');
    const { request } = await import('undici');
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'send me a picture' });
    const plaintext = Buffer.from('not really a png, but bytes all the same');
    const key = randomBytes(16);
    const cipher = createCipheriv('aes-128-ecb', key, null);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const filekey = randomBytes(16).toString('hex');
    const upload = await callApi(
      sim(),
      'getUploadUrl',
      {
        filekey,
        media_type: 1,
        to_user_id: 'alice@im.wechat',
        rawsize: plaintext.length,
        rawfilemd5: createHash('md5').update(plaintext).digest('hex'),
        filesize: ciphertext.length,
        no_need_thumb: true,
        aeskey: key.toString('hex'),
      },
      { token: bot.token },
    );
    expect(upload.json?.ret).toBe(0);
    const uploadUrl = `${sim().cdnBaseUrl}/upload?encrypted_query_param=${encodeURIComponent(upload.json?.upload_param)}&filekey=${filekey}`;
    const posted = await request(uploadUrl, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: ciphertext });
    await posted.body.dump();
    expect(posted.statusCode).toBe(200);
    const downloadParam = posted.headers['x-encrypted-param'] as string;
    expect(downloadParam).toBeTruthy();

    const media = { encrypt_query_param: downloadParam, aes_key: Buffer.from(key.toString('hex')).toString('base64'), encrypt_type: 1 };
    const body = textMessage('alice@im.wechat', contextToken) as { msg: Record<string, unknown> };
    body.msg.item_list = [{ type: 2, image_item: { media, mid_size: ciphertext.length } }];
    expect((await callApi(sim(), 'sendMessage', body, { token: bot.token })).json?.ret).toBe(0);

    const downloaded = await request(`${sim().cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(downloadParam)}`);
    expect(Buffer.from(await downloaded.body.arrayBuffer()).equals(ciphertext)).toBe(true);
  });
});
