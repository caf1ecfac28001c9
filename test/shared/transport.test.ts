import { ApiError, ContextTokenError, HttpError, SessionExpiredError } from '../../shared/errors';
import { encodeClientVersion, encodeWechatUin, isAbortError, joinUrl, MAX_ANSWER_BYTES, Transport } from '../../shared/transport';
import { rejection } from '../helpers/rejection';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';

const TOKEN = 'tok-SECRET-abcdef123456';

let server: ScriptedServer;

beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(() => server.close());

describe('header encodings (§1 worked examples)', () => {
  test('X-WECHAT-UIN: 3735928559 → "MzczNTkyODU1OQ=="', () => {
    expect(encodeWechatUin(3735928559)).toBe('MzczNTkyODU1OQ==');
  });
  test('iLink-App-ClientVersion: 2.4.3 → 132099 and 1.0.11 → 65547', () => {
    expect(encodeClientVersion('2.4.3')).toBe('132099');
    expect(encodeClientVersion('1.0.11')).toBe('65547');
    expect(encodeClientVersion('2.4.9')).toBe('132105');
  });
  test('a random UIN is base64 of a decimal uint32', () => {
    for (let i = 0; i < 50; i++) {
      const decoded = Buffer.from(encodeWechatUin(), 'base64').toString('ascii');
      expect(decoded).toMatch(/^\d{1,10}$/);
      expect(Number(decoded)).toBeLessThanOrEqual(0xffffffff);
    }
  });
});

describe('URL join (§0)', () => {
  test('keeps a base path and never doubles slashes', () => {
    expect(joinUrl('https://h.example/prefix', 'ilink/bot/getupdates').href).toBe('https://h.example/prefix/ilink/bot/getupdates');
    expect(joinUrl('https://h.example/prefix/', 'ilink/bot/getupdates').href).toBe('https://h.example/prefix/ilink/bot/getupdates');
    expect(joinUrl('https://h.example', '/ilink/bot/x').href).toBe('https://h.example/ilink/bot/x');
  });
});

describe('POST requests', () => {
  test('carry the full header set, the bearer token and base_info', async () => {
    const transport = new Transport({ baseUrl: `${server.url}/base`, token: `  ${TOKEN} `, routeTag: 42, botAgent: 'MyBot/1.0', channelVersion: '2.4.3' });
    await transport.post('getUpdates', { get_updates_buf: 'c1' });
    const [req] = server.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/base/ilink/bot/getupdates');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['authorizationtype']).toBe('ilink_bot_token');
    expect(req.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['ilink-app-id']).toBe('bot');
    expect(req.headers['ilink-app-clientversion']).toBe('132099');
    expect(req.headers['skroutetag']).toBe('42');
    expect(Buffer.from(String(req.headers['x-wechat-uin']), 'base64').toString()).toMatch(/^\d+$/);
    expect(JSON.parse(req.body)).toEqual({ get_updates_buf: 'c1', base_info: { channel_version: '2.4.3', bot_agent: 'MyBot/1.0' } });
  });

  test('X-WECHAT-UIN is new for each request', async () => {
    const transport = new Transport({ baseUrl: server.url, token: TOKEN });
    for (let i = 0; i < 5; i++) await transport.post('getConfig', { ilink_user_id: 'u' });
    const uins = new Set(server.requests.map((r) => r.headers['x-wechat-uin']));
    expect(uins.size).toBe(5);
  });

  test('get_bot_qrcode: AuthorizationType but no Authorization without a token, and no base_info', async () => {
    const transport = new Transport({ baseUrl: server.url });
    await transport.post('getBotQrcode', { local_token_list: [] }, { query: { bot_type: '3' } });
    const [req] = server.requests;
    expect(req.url).toBe('/ilink/bot/get_bot_qrcode?bot_type=3');
    expect(req.headers['authorizationtype']).toBe('ilink_bot_token');
    expect(req.headers['authorization']).toBeUndefined();
    expect(req.headers['skroutetag']).toBeUndefined();
    expect(JSON.parse(req.body)).toEqual({ local_token_list: [] });
  });

  test('the default bot_agent names this package and channel_version is our version', async () => {
    const transport = new Transport({ baseUrl: server.url, token: TOKEN });
    await transport.post('notifyStart', {});
    const body = JSON.parse(server.requests[0].body);
    expect(body.base_info.bot_agent).toMatch(/^n8n-nodes-wechat-ilink\/\d+\.\d+\.\d+$/);
    expect(body.base_info.channel_version).toBe(require('../../package.json').version);
  });
});

describe('GET requests', () => {
  test('send only the app headers', async () => {
    const transport = new Transport({ baseUrl: server.url, token: TOKEN, routeTag: 'r1' });
    await transport.get('getQrcodeStatus', { query: { qrcode: 'a b&c', verify_code: undefined } });
    const [req] = server.requests;
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/ilink/bot/get_qrcode_status?qrcode=a+b%26c');
    expect(req.headers['ilink-app-id']).toBe('bot');
    expect(req.headers['skroutetag']).toBe('r1');
    for (const h of ['content-type', 'authorizationtype', 'authorization', 'x-wechat-uin']) expect(req.headers[h]).toBeUndefined();
  });
});

describe('replies and errors', () => {
  const transport = () => new Transport({ baseUrl: server.url, token: TOKEN });

  test('uint64 message_id above 2^53 survives as a string', async () => {
    server.answer({ body: '{"ret":0,"message_id":18446744073709551615,"msgs":[{"message_id":9007199254740993,"item_list":[{"msg_id":"1"}]}]}' });
    const reply = await transport().post<{ message_id: string; msgs: Array<{ message_id: string }> }>('sendMessage', { msg: {} });
    expect(reply.message_id).toBe('18446744073709551615');
    expect(reply.msgs[0].message_id).toBe('9007199254740993');
  });

  test('an answer over MAX_ANSWER_BYTES is not read whole: a typed error that says so (a wrong or hostile base URL cannot exhaust memory)', async () => {
    server.answer({ body: `{"ret":0,"pad":"${'x'.repeat(MAX_ANSWER_BYTES)}"}` });
    const error = await rejection(transport().post('getUpdates', { get_updates_buf: '' }));
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).kind).toBe('malformed');
    expect(error.message).toBe(
      `iLink getupdates: the answer is larger than ${MAX_ANSWER_BYTES} bytes, so it was not read; the server sent something that is not iLink JSON; check the API base URL`,
    );
    // Just under the cap is read as usual.
    server.answer({ body: `{"ret":0,"pad":"${'x'.repeat(MAX_ANSWER_BYTES - 100)}"}` });
    await expect(transport().post('getUpdates', { get_updates_buf: '' })).resolves.toMatchObject({ ret: 0 });
  });

  test('errcode -14 without ret is a SessionExpiredError that says what to do', async () => {
    server.answer({ body: { errcode: -14, errmsg: 'session timeout' } });
    const error = await rejection(transport().post('getUpdates', { get_updates_buf: '' }));
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect(error.message).toMatch(/scan the QR code again/);
    expect(error.code).toBe(-14);
  });

  test('ret -14 is also a session expiry', async () => {
    server.answer({ body: { ret: -14 } });
    await expect(transport().post('getUpdates', {})).rejects.toBeInstanceOf(SessionExpiredError);
  });

  test('ret -2 on HTTP 200 is a ContextTokenError', async () => {
    server.answer({ body: { ret: -2, errmsg: 'bad token' } });
    const error = await rejection(transport().post('sendMessage', { msg: {} }));
    expect(error).toBeInstanceOf(ContextTokenError);
    expect(error.message).toMatch(/context token/);
  });

  test('errcode ≠ 0 with ret 0 is still an error', async () => {
    server.answer({ body: { ret: 0, errcode: 5, errmsg: 'nope' } });
    const error = await rejection(transport().post('getConfig', {}));
    expect(error).toBeInstanceOf(ApiError);
    expect(error.errcode).toBe(5);
    expect(error.endpoint).toBe('getconfig');
  });

  test('non-2xx is an HttpError with the status', async () => {
    server.answer({ status: 502, body: 'bad gateway' });
    const error = await rejection(transport().post('getConfig', {}));
    expect(error).toBeInstanceOf(HttpError);
    expect(error.kind).toBe('status');
    expect(error.status).toBe(502);
  });

  test('malformed JSON is an HttpError of kind malformed', async () => {
    server.answer({ body: '{"ret":0,' });
    const error = await rejection(transport().post('getConfig', {}));
    expect(error).toBeInstanceOf(HttpError);
    expect(error.kind).toBe('malformed');
  });

  test('a JSON array is not an iLink reply', async () => {
    server.answer({ body: '[1,2]' });
    await expect(transport().post('getConfig', {})).rejects.toMatchObject({ kind: 'malformed' });
  });

  test('the token never appears in an error, even when the server echoes it', async () => {
    server.answer({ status: 401, body: `token ${TOKEN} is unknown` });
    const e1 = await rejection(transport().post('getConfig', {}));
    server.answer({ body: { ret: 1, errmsg: `bad ${TOKEN}` } });
    const e2 = await rejection(transport().post('getConfig', {}));
    for (const e of [e1, e2]) {
      expect(e.message).not.toContain(TOKEN);
      expect(JSON.stringify({ ...e, message: e.message })).not.toContain(TOKEN);
    }
    expect(e1.message).toMatch(/check the bot token, or log in again/);
  });

  test('a per-endpoint timeout becomes HttpError kind timeout', async () => {
    server.answer({ delayMs: 400, body: { ret: 0 } });
    const t = new Transport({ baseUrl: server.url, token: TOKEN, timeouts: { getConfig: 50 } });
    const started = Date.now();
    const error = await rejection(t.post('getConfig', {}));
    expect(error).toBeInstanceOf(HttpError);
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(350);
  });

  /** After `afterMs`, keeps the event loop busy for `forMs` (n8n running executions, a GC pause). */
  async function blockEventLoop(afterMs: number, forMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    const until = Date.now() + forMs;
    while (Date.now() < until);
  }

  test('an answer that arrives in the same event-loop turn as the timeout is read, not thrown away (a long poll would lose its messages, §10)', async () => {
    // The server answers at 300 ms; the client gives up at 400 ms. The loop is blocked from 250 to 650 ms,
    // so both timers are due in the same turn, the server's first: its answer is written, then the client's timeout fires.
    server.answer({ delayMs: 300, body: { ret: 0, msgs: [{ message_id: 7 }], get_updates_buf: 'next' } });
    const pending = transport().post<{ get_updates_buf: string }>('getUpdates', {}, { timeoutMs: 400, readWholeBody: true });
    await blockEventLoop(250, 400);
    await expect(pending).resolves.toMatchObject({ get_updates_buf: 'next' });
  });

  test('the same, for a call without readWholeBody (a send whose answer came in would otherwise be reported as timed out)', async () => {
    server.answer({ delayMs: 300, body: { ret: 0, message_id: 9 } });
    const pending = transport().post('sendMessage', { msg: {} }, { timeoutMs: 400 });
    await blockEventLoop(250, 400);
    await expect(pending).resolves.toMatchObject({ ret: 0 });
  });

  test('the caller signal aborts at once with an AbortError', async () => {
    server.answer({ delayMs: 2000, body: { ret: 0 } });
    const controller = new AbortController();
    const pending = transport().post('getUpdates', {}, { signal: controller.signal, timeoutMs: 35_000 });
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    const error = await rejection(pending);
    expect(isAbortError(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('a refused connection is an HttpError of kind network', async () => {
    const url = server.url;
    await server.close();
    const error = await rejection(new Transport({ baseUrl: url, token: TOKEN }).post('getConfig', {}));
    expect(error).toBeInstanceOf(HttpError);
    expect(error.kind).toBe('network');
    server = await startScriptedServer();
  });

  test('recallmessage sends msg_id as a bare JSON number, exactly', async () => {
    await transport().post('recallMessage', { msg_id: '18446744073709551615' });
    expect(server.requests[0].body).toContain('"msg_id":18446744073709551615');
  });
});
