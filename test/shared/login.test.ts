import { ManualClock } from '../../shared/clock';
import { LoginError } from '../../shared/errors';
import { LoginSession, redirectBase, type LoginOptions } from '../../shared/login';
import { startScriptedServer, type ScriptedServer, type SeenRequest } from '../helpers/scripted-server';

let server: ScriptedServer;
let redirect: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
  redirect = await startScriptedServer();
  server.fallback = { body: { status: 'wait' } };
  redirect.fallback = { body: { status: 'wait' } };
});
afterEach(async () => {
  await server.close();
  await redirect.close();
});

let qrCount = 0;
const qr = () => ({ body: { qrcode: `qr-${++qrCount}`, qrcode_img_content: `https://phone.example/${qrCount}` } });
const status = (s: string, extra: object = {}) => ({ body: { status: s, ...extra } });
const statusPolls = (s: ScriptedServer = server) => s.requests.filter((r) => r.url.includes('get_qrcode_status'));
const query = (r: SeenRequest) => new URL(r.url, 'http://x').searchParams;
const confirmed = { bot_token: 'bot-token-xyz', ilink_bot_id: 'abc@im.bot', baseurl: 'https://acct.example/', ilink_user_id: 'owner@im.wechat' };

/** Runs a login with a manual clock, advancing it whenever the session sleeps its 1 s gap. */
async function runLogin(extra: Partial<LoginOptions> = {}) {
  const clock = new ManualClock();
  const session = await LoginSession.start({ baseUrl: server.url, clock, ...extra });
  const events: string[] = [];
  session.on('scanned', () => events.push('scanned'));
  session.on('refreshed', (q) => events.push(`refreshed:${q.index}`));
  session.on('redirected', (b) => events.push(`redirected:${b}`));
  session.on('verify-code', ({ wrong }) => events.push(`verify:${wrong}`));
  let done = false;
  const result = session.wait().finally(() => (done = true));
  const pump = (async () => {
    while (!done) {
      if (clock.pendingSleeps.length > 0) clock.advance(1000);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  try {
    return { session, events, result: await result };
  } finally {
    await pump;
  }
}

test('get_bot_qrcode is a POST with local_token_list (max 10) and bot_type=3; the QR content is the image URL', async () => {
  server.answer(qr(), status('confirmed', confirmed));
  const tokens = Array.from({ length: 12 }, (_, i) => `t${i}`);
  const { session } = await runLogin({ localTokens: tokens });
  const [first] = server.requests;
  expect(first.method).toBe('POST');
  expect(first.url).toBe('/ilink/bot/get_bot_qrcode?bot_type=3');
  expect(JSON.parse(first.body)).toEqual({ local_token_list: tokens.slice(0, 10) });
  expect(session.qr.content).toMatch(/^https:\/\/phone\.example\//);
  expect((await session.qrPng()).subarray(1, 4).toString()).toBe('PNG');
  expect(await session.qrDataUrl()).toMatch(/^data:image\/png;base64,/);
});

test('wait → scaned → confirmed yields all four credentials; status polls are GETs with the qrcode', async () => {
  server.answer(qr(), status('wait'), status('scaned'), status('confirmed', confirmed));
  const { result, events } = await runLogin();
  expect(result).toEqual({ kind: 'confirmed', token: 'bot-token-xyz', botId: 'abc@im.bot', baseUrl: 'https://acct.example/', userId: 'owner@im.wechat' });
  expect(events).toEqual(['scanned']);
  const polls = statusPolls();
  expect(polls).toHaveLength(3);
  expect(polls.every((p) => p.method === 'GET' && query(p).get('qrcode') === `qr-${qrCount}`)).toBe(true);
});

test('confirmed without a baseurl falls back to the login API base', async () => {
  server.answer(qr(), status('confirmed', { ...confirmed, baseurl: '' }));
  const { result } = await runLogin();
  expect(result).toMatchObject({ baseUrl: server.url });
});

test('confirmed without ilink_bot_id fails the login (§3)', async () => {
  server.answer(qr(), status('confirmed', { ...confirmed, ilink_bot_id: undefined }));
  await expect(runLogin()).rejects.toMatchObject({ kind: 'missing_bot_id' });
});

test('errors, non-2xx and bad bodies count as wait', async () => {
  server.answer(qr(), { status: 524, body: 'gateway' }, { body: '{oops' }, status('confirmed', confirmed));
  const { result } = await runLogin();
  expect(result.kind).toBe('confirmed');
});

test('scaned_but_redirect moves polling to the redirect host, same qrcode, and confirmed comes from there', async () => {
  const host = new URL(redirect.url).host;
  server.answer(qr(), status('scaned_but_redirect', { redirect_host: host }));
  redirect.answer(status('scaned'), status('confirmed', confirmed));
  const { result, events } = await runLogin();
  expect(result.kind).toBe('confirmed');
  expect(events).toContain(`redirected:http://${host}/`);
  expect(statusPolls(redirect).map((p) => query(p).get('qrcode'))).toEqual([`qr-${qrCount}`, `qr-${qrCount}`]);
  expect(statusPolls()).toHaveLength(1);
});

test('need_verifycode: the code goes on every later poll until scaned; a repeat means wrong → asked again', async () => {
  server.answer(qr(), status('need_verifycode'), status('need_verifycode'), status('wait'), status('scaned'), status('confirmed', confirmed));
  const asked: boolean[] = [];
  const codes = ['11', '42'];
  const { result, events } = await runLogin({
    verifyCode: async ({ wrong }) => {
      asked.push(wrong);
      return codes.shift() as string;
    },
  });
  expect(result.kind).toBe('confirmed');
  expect(asked).toEqual([false, true]);
  expect(events).toEqual(['verify:false', 'verify:true', 'scanned']);
  const sent = statusPolls().map((p) => query(p).get('verify_code'));
  expect(sent).toEqual([null, '11', '42', '42', null]);
});

test('need_verifycode without a callback waits for submitVerifyCode()', async () => {
  server.answer(qr(), status('need_verifycode'), status('scaned'), status('confirmed', confirmed));
  const clock = new ManualClock();
  const session = await LoginSession.start({ baseUrl: server.url, clock });
  session.on('verify-code', () => setTimeout(() => session.submitVerifyCode(' 77 '), 5));
  const result = session.wait();
  const pump = setInterval(() => clock.pendingSleeps.length && clock.advance(1000), 1);
  await expect(result).resolves.toMatchObject({ kind: 'confirmed' });
  clearInterval(pump);
  expect(query(statusPolls()[1]).get('verify_code')).toBe('77');
});

test('expired fetches a new QR code, up to 3 in all, then fails with a clear message', async () => {
  server.answer(qr(), status('expired'), qr(), status('expired'), qr(), status('expired'));
  const error = await runLogin().then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(LoginError);
  expect(error.kind).toBe('qr_expired');
  expect(error.message).toMatch(/3 QR codes expired.*start the login again/);
  expect(server.requests.filter((r) => r.url.includes('get_bot_qrcode'))).toHaveLength(3);
});

test('a refresh shows the new code and the login can still succeed', async () => {
  server.answer(qr(), status('expired'), qr(), status('confirmed', confirmed));
  const { result, events, session } = await runLogin();
  expect(result.kind).toBe('confirmed');
  expect(events).toEqual(['refreshed:2']);
  expect(session.qr.index).toBe(2);
  expect(query(statusPolls()[1]).get('qrcode')).toBe(`qr-${qrCount}`);
});

test('verify_code_blocked drops the code and counts as a refresh', async () => {
  server.answer(qr(), status('need_verifycode'), status('verify_code_blocked'), qr(), status('confirmed', confirmed));
  const { result } = await runLogin({ verifyCode: async () => '13' });
  expect(result.kind).toBe('confirmed');
  const polls = statusPolls();
  expect(query(polls[polls.length - 1]).get('verify_code')).toBeNull();
});

test('verify_code_blocked on the third code fails with verify_code_blocked', async () => {
  server.answer(qr(), status('expired'), qr(), status('expired'), qr(), status('verify_code_blocked'));
  await expect(runLogin()).rejects.toMatchObject({ kind: 'verify_code_blocked' });
});

test('binded_redirect is success without new credentials', async () => {
  server.answer(qr(), status('binded_redirect'));
  const { result } = await runLogin({ localTokens: ['old'] });
  expect(result).toEqual({ kind: 'already-bound' });
});

test('the deadline ends the login with a timeout error', async () => {
  server.answer(qr());
  const clock = new ManualClock();
  const session = await LoginSession.start({ baseUrl: server.url, clock, deadlineMs: 3000 });
  const result = session.wait();
  const pump = setInterval(() => clock.pendingSleeps.length && clock.advance(1000), 1);
  await expect(result).rejects.toMatchObject({ kind: 'timeout' });
  clearInterval(pump);
  expect(statusPolls().length).toBe(3);
});

test('cancel() ends a pending long poll at once with kind aborted', async () => {
  server.answer(qr());
  server.fallback = { body: { status: 'wait' }, delayMs: 10_000 };
  const session = await LoginSession.start({ baseUrl: server.url });
  const result = session.wait();
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  session.cancel();
  await expect(result).rejects.toMatchObject({ kind: 'aborted' });
  expect(Date.now() - started).toBeLessThan(500);
});

test('redirectBase keeps the current scheme', () => {
  expect(redirectBase('https://ilinkai.weixin.qq.com/', 'sh.example:8443')).toBe('https://sh.example:8443/');
  expect(redirectBase('http://127.0.0.1:1/', '127.0.0.1:2')).toBe('http://127.0.0.1:2/');
});
