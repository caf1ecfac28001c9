/** QR login through every status the real server sends (§3). */
import { callApi, getQrcode, getQrStatus, http, useSimulator } from './helpers';

describe('QR login', () => {
  const sim = useSimulator({ longPollTimeoutMs: 300 });

  test('get_bot_qrcode answers an opaque handle and the phone page URL', async () => {
    const { qrcode, qrcode_img_content } = await getQrcode(sim());
    expect(qrcode).toMatch(/^[0-9a-f]{32}$/);
    expect(qrcode_img_content).toBe(`${sim().url}/phone/${qrcode}`);
    expect(sim().admin.lastQrcode()).toBe(qrcode);
  });

  test('status is a long poll: holds, then answers wait', async () => {
    const { qrcode } = await getQrcode(sim());
    const started = Date.now();
    const result = await getQrStatus(sim(), qrcode);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.json).toEqual({ status: 'wait' });
  });

  test('opening the phone page wakes a pending poll with scaned; confirm gives credentials', async () => {
    const { qrcode, qrcode_img_content } = await getQrcode(sim());
    const pending = getQrStatus(sim(), qrcode);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const page = await http(qrcode_img_content);
    expect(page.status).toBe(200);
    expect(page.text).toContain('wxid_demo@im.wechat');
    expect((await pending).json).toEqual({ status: 'scaned' });
    expect(Date.now() - started).toBeLessThan(250);

    const confirmPoll = getQrStatus(sim(), qrcode);
    const action = await http(`${sim().url}/_phone/${qrcode}/confirm`, { json: { userId: 'carol@im.wechat' } });
    expect(action.json).toEqual({ status: 'confirmed' });
    const confirmed = (await confirmPoll).json;
    expect(confirmed).toMatchObject({ status: 'confirmed', ilink_user_id: 'carol@im.wechat', baseurl: sim().url });
    expect(confirmed?.ilink_bot_id).toMatch(/^[0-9a-f]+@im\.bot$/);
    expect(confirmed?.bot_token.length).toBeGreaterThan(40);

    // The credentials work.
    const updates = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: confirmed?.bot_token });
    expect(updates.json?.ret).toBe(0);
    expect(sim().admin.bots().map((bot) => bot.botId)).toContain(confirmed?.ilink_bot_id);
  });

  test('cancel turns the code expired', async () => {
    const { qrcode } = await getQrcode(sim());
    sim().admin.scanQr(qrcode);
    expect((await getQrStatus(sim(), qrcode)).json).toEqual({ status: 'scaned' });
    const action = await http(`${sim().url}/_phone/${qrcode}/cancel`, { json: {} });
    expect(action.json).toEqual({ status: 'expired' });
    expect((await getQrStatus(sim(), qrcode)).json).toEqual({ status: 'expired' });
    expect(() => sim().admin.confirmQr(qrcode)).toThrow(/expired/);
  });

  test('a code expires after qrExpireMs', async () => {
    sim().admin.setLoginScenario({ qrExpireMs: 150 });
    const { qrcode } = await getQrcode(sim());
    const started = Date.now();
    const result = await getQrStatus(sim(), qrcode);
    expect(result.json).toEqual({ status: 'expired' });
    expect(Date.now() - started).toBeLessThan(290);
  });

  test('an unknown qrcode answers expired; a missing one is ret -2', async () => {
    expect((await getQrStatus(sim(), 'ffff')).json).toEqual({ status: 'expired' });
    const { request } = await import('undici');
    const missing = await request(new URL('ilink/bot/get_qrcode_status', sim().apiBaseUrl), { headers: { 'iLink-App-Id': 'bot', 'iLink-App-ClientVersion': '1' } });
    expect(((await missing.body.json()) as { ret: number }).ret).toBe(-2);
  });

  test('need_verifycode: wrong code → need_verifycode again, right code → scaned, then confirmed', async () => {
    sim().admin.setLoginScenario({ verifyCode: true });
    const { qrcode, qrcode_img_content } = await getQrcode(sim());
    const page = await http(qrcode_img_content);
    const code = sim().admin.verifyCodeFor(qrcode);
    expect(code).toMatch(/^\d{2}$/);
    expect(page.text).toContain(`>${code}<`);
    expect((await getQrStatus(sim(), qrcode)).json).toEqual({ status: 'need_verifycode' });
    expect(() => sim().admin.confirmQr(qrcode)).toThrow(/verify code/);

    const wrong = code === '10' ? '11' : '10';
    const started = Date.now();
    expect((await getQrStatus(sim(), qrcode, { verifyCode: wrong })).json).toEqual({ status: 'need_verifycode' });
    expect(Date.now() - started).toBeLessThan(250);
    expect((await getQrStatus(sim(), qrcode, { verifyCode: code })).json).toEqual({ status: 'scaned' });
    sim().admin.confirmQr(qrcode, 'dave@im.wechat');
    expect((await getQrStatus(sim(), qrcode, { verifyCode: code })).json).toMatchObject({ status: 'confirmed', ilink_user_id: 'dave@im.wechat' });
  });

  test('3 wrong verify codes → verify_code_blocked', async () => {
    sim().admin.setLoginScenario({ verifyCode: true });
    const { qrcode } = await getQrcode(sim());
    sim().admin.scanQr(qrcode);
    const wrong = sim().admin.verifyCodeFor(qrcode) === '10' ? '11' : '10';
    expect((await getQrStatus(sim(), qrcode, { verifyCode: wrong })).json?.status).toBe('need_verifycode');
    expect((await getQrStatus(sim(), qrcode, { verifyCode: wrong })).json?.status).toBe('need_verifycode');
    expect((await getQrStatus(sim(), qrcode, { verifyCode: wrong })).json?.status).toBe('verify_code_blocked');
    expect((await getQrStatus(sim(), qrcode)).json?.status).toBe('verify_code_blocked');
  });

  test('redirect: the main host only says scaned_but_redirect; confirmed comes from the second listener', async () => {
    sim().admin.setLoginScenario({ redirect: true });
    const { qrcode } = await getQrcode(sim());
    sim().admin.scanQr(qrcode);
    const first = (await getQrStatus(sim(), qrcode)).json;
    const redirectHost = new URL(sim().redirectUrl).host;
    expect(first).toEqual({ status: 'scaned_but_redirect', redirect_host: redirectHost });
    expect(redirectHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(redirectHost).not.toBe(new URL(sim().url).host);

    const redirectBase = `http://${redirectHost}/`;
    expect((await getQrStatus(sim(), qrcode, { baseUrl: redirectBase })).json).toEqual({ status: 'scaned' });
    sim().admin.confirmQr(qrcode);
    // A client that ignores the redirect never logs in.
    expect((await getQrStatus(sim(), qrcode)).json).toEqual({ status: 'scaned_but_redirect', redirect_host: redirectHost });
    const confirmed = (await getQrStatus(sim(), qrcode, { baseUrl: redirectBase })).json;
    expect(confirmed).toMatchObject({ status: 'confirmed', ilink_user_id: 'wxid_demo@im.wechat' });
    expect(sim().admin.requests({ endpoint: 'getQrcodeStatus', listener: 'redirect' })).toHaveLength(2);
  });

  test('redirect host serves the rest of the API too', async () => {
    const bot = sim().admin.createBot();
    const result = await callApi(sim(), 'getConfig', { ilink_user_id: 'a@im.wechat' }, { token: bot.token, baseUrl: `${sim().redirectUrl}/` });
    expect(result.json?.ret).toBe(0);
  });

  test('binded_redirect when local_token_list holds a live token of the same user; no new credentials', async () => {
    const bot = sim().admin.createBot({ ownerUserId: 'erin@im.wechat' });
    const { qrcode } = await getQrcode(sim(), ['stale-token', bot.token]);
    sim().admin.confirmQr(qrcode, 'erin@im.wechat');
    expect((await getQrStatus(sim(), qrcode)).json).toEqual({ status: 'binded_redirect' });
    expect(sim().admin.bots()).toHaveLength(1);
    const still = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(still.json?.ret).toBe(0);
  });

  test('another user, or an expired token, gets a real login; a re-login of the owner replaces the old token', async () => {
    const bot = sim().admin.createBot({ ownerUserId: 'frank@im.wechat' });
    const other = await getQrcode(sim(), [bot.token]);
    sim().admin.confirmQr(other.qrcode, 'gina@im.wechat');
    expect((await getQrStatus(sim(), other.qrcode)).json?.status).toBe('confirmed');

    sim().admin.expireSession(bot.botId);
    const relogin = await getQrcode(sim(), [bot.token]);
    sim().admin.confirmQr(relogin.qrcode, 'frank@im.wechat');
    const answer = (await getQrStatus(sim(), relogin.qrcode)).json;
    expect(answer).toMatchObject({ status: 'confirmed', ilink_bot_id: bot.botId });
    expect(answer?.bot_token).not.toBe(bot.token);
    const old = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(old.json).toEqual({ errcode: -14, errmsg: 'session timeout' });
    const fresh = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: answer?.bot_token });
    expect(fresh.json?.ret).toBe(0);
  });

  test('autoConfirm logs in on the first poll; accountBaseUrl is answered as baseurl', async () => {
    sim().admin.setLoginScenario({ autoConfirm: true, accountBaseUrl: 'http://account.invalid/base' });
    const { qrcode } = await getQrcode(sim());
    const answer = (await getQrStatus(sim(), qrcode)).json;
    expect(answer).toMatchObject({ status: 'confirmed', baseurl: 'http://account.invalid/base', ilink_user_id: 'wxid_demo@im.wechat' });
  });

  test('phone actions over HTTP: unknown code 404, confirm during need_verifycode 409', async () => {
    expect((await http(`${sim().url}/phone/deadbeef`)).status).toBe(404);
    expect((await http(`${sim().url}/_phone/deadbeef/confirm`, { json: {} })).status).toBe(404);
    sim().admin.setLoginScenario({ verifyCode: true });
    const { qrcode } = await getQrcode(sim());
    expect((await http(`${sim().url}/_phone/${qrcode}/scan`, { json: {} })).json).toEqual({ status: 'need_verifycode' });
    const refused = await http(`${sim().url}/_phone/${qrcode}/confirm`, { json: {} });
    expect(refused.status).toBe(409);
    const view = await http(`${sim().url}/_phone/${qrcode}`);
    expect(view.json).toMatchObject({ status: 'need_verifycode', verifyCode: sim().admin.verifyCodeFor(qrcode) });
  });
});
