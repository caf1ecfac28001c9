/**
 * The step-wise QR login: the pure planning and answer rules, then whole
 * logins against the simulator over HTTP, one step per call (as n8n's
 * credential hook runs them).
 */
import { Transport } from '../../shared';
import { advanceLogin, applyQrAnswer, parseLoginTicket, planLoginStep, serializeLoginTicket, type LoginTicket } from '../../shared/login-steps';
import { startSimulator, type Simulator } from '../../simulator';

const ticket = (over: Partial<LoginTicket> = {}): LoginTicket => ({ v: 1, qrcode: 'q1', content: 'https://x/q1', index: 1, startedAt: 1_000, status: 'waiting', ...over });

describe('planLoginStep / applyQrAnswer (pure)', () => {
  it('fetches a QR code when there is no ticket, on restart, and after the deadline', () => {
    expect(planLoginStep(undefined, { now: 5 })).toEqual({ kind: 'fetch-qr', index: 1, startedAt: 5 });
    expect(planLoginStep(ticket(), { now: 2_000, restart: true }).kind).toBe('fetch-qr');
    expect(planLoginStep(ticket(), { now: 1_000 + 480_000 }).kind).toBe('fetch-qr');
    expect(planLoginStep(ticket(), { now: 2_000 })).toEqual({ kind: 'poll', baseUrl: undefined, verifyCode: undefined });
  });

  it('asks for the number without calling the server, and never resends a refused one', () => {
    const asking = ticket({ status: 'verify-code' });
    expect(planLoginStep(asking, { now: 2_000 })).toMatchObject({ kind: 'report', result: { state: 'verify-code', wrongCode: false } });
    expect(planLoginStep(asking, { now: 2_000, verifyCode: ' 42 ' })).toEqual({ kind: 'poll', baseUrl: undefined, verifyCode: '42' });
    const refused = ticket({ status: 'verify-code', sentCode: '42', wrongCode: true });
    expect(planLoginStep(refused, { now: 2_000, verifyCode: '42' })).toMatchObject({ kind: 'report', result: { wrongCode: true } });
    expect(planLoginStep(refused, { now: 2_000, verifyCode: '43' })).toMatchObject({ kind: 'poll', verifyCode: '43' });
  });

  it('reads answers: redirect, wrong number, expiry with and without refreshes left, confirmation', () => {
    const ctx = { fallbackBaseUrl: 'https://ilinkai.weixin.qq.com/' };
    expect(applyQrAnswer(ticket(), { status: 'scaned_but_redirect', redirect_host: 'other.example' }, ctx).ticket?.pollBaseUrl).toBe('https://other.example/');
    expect(applyQrAnswer(ticket({ status: 'verify-code' }), { status: 'need_verifycode' }, { ...ctx, sentCode: '7' })).toMatchObject({ state: 'verify-code', wrongCode: true });
    expect(applyQrAnswer(ticket({ sentCode: '7' }), { status: 'scaned' }, ctx).ticket).not.toHaveProperty('sentCode');
    expect(applyQrAnswer(ticket(), { status: 'expired' }, ctx)).toMatchObject({ needsNewQr: true });
    expect(applyQrAnswer(ticket({ index: 3 }), { status: 'expired' }, ctx)).toMatchObject({ state: 'failed', error: expect.stringMatching(/3 QR codes expired/) });
    const done = applyQrAnswer(ticket(), { status: 'confirmed', bot_token: 't0k3n-abc', ilink_bot_id: 'b@im.bot', ilink_user_id: 'u@im.wechat' }, ctx);
    expect(done).toMatchObject({ state: 'confirmed', credentials: { token: 't0k3n-abc', botId: 'b@im.bot', userId: 'u@im.wechat', baseUrl: ctx.fallbackBaseUrl } });
    expect(done.ticket).toBeUndefined();
  });

  it('stores tickets as JSON and treats anything malformed as no ticket', () => {
    const t = ticket({ pollBaseUrl: 'https://r/', sentCode: '12' });
    expect(parseLoginTicket(serializeLoginTicket(t))).toEqual(t);
    for (const bad of ['', 'nope', '{}', '{"v":2}', 42]) expect(parseLoginTicket(bad)).toBeUndefined();
  });
});

describe('advanceLogin against the simulator', () => {
  let sim: Simulator;
  let transport: Transport;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 1_000 });
    transport = new Transport({ baseUrl: sim.apiBaseUrl });
  });
  afterAll(() => sim.stop());
  afterEach(() => sim.admin.setLoginScenario({}));

  it('logs in over several steps: QR, scan, confirm', async () => {
    const first = await advanceLogin(transport, undefined);
    expect(first).toMatchObject({ state: 'waiting', qrChanged: true });
    const qrcode = first.ticket!.qrcode;
    expect(first.ticket!.content).toContain(`/phone/${qrcode}`);
    sim.admin.scanQr(qrcode, 'dave@im.wechat');
    const scanned = await advanceLogin(transport, parseLoginTicket(serializeLoginTicket(first.ticket)), { pollTimeoutMs: 2_000 });
    expect(scanned.state).toBe('scanned');
    sim.admin.confirmQr(qrcode, 'dave@im.wechat');
    const done = await advanceLogin(transport, scanned.ticket, { pollTimeoutMs: 2_000 });
    expect(done.state).toBe('confirmed');
    expect(done.credentials).toMatchObject({ userId: 'dave@im.wechat' });
    expect(sim.admin.bots().some((b) => b.token === done.credentials!.token)).toBe(true);
  });

  it('asks for the verification number, tells a wrong one, accepts the right one', async () => {
    sim.admin.setLoginScenario({ verifyCode: true });
    const first = await advanceLogin(transport, undefined);
    const qrcode = first.ticket!.qrcode;
    sim.admin.scanQr(qrcode, 'erin@im.wechat');
    const asked = await advanceLogin(transport, first.ticket, { pollTimeoutMs: 2_000 });
    expect(asked).toMatchObject({ state: 'verify-code', wrongCode: false });
    const code = sim.admin.verifyCodeFor(qrcode)!;
    const wrongCode = code === '00' ? '01' : '00';
    const wrong = await advanceLogin(transport, asked.ticket, { verifyCode: wrongCode, pollTimeoutMs: 2_000 });
    expect(wrong).toMatchObject({ state: 'verify-code', wrongCode: true });
    const right = await advanceLogin(transport, wrong.ticket, { verifyCode: code, pollTimeoutMs: 2_000 });
    expect(right.state).toBe('scanned');
    sim.admin.confirmQr(qrcode, 'erin@im.wechat');
    expect((await advanceLogin(transport, right.ticket, { pollTimeoutMs: 2_000 })).state).toBe('confirmed');
  });

  it('replaces an expired QR code, and gives up after the third', async () => {
    sim.admin.setLoginScenario({ qrExpireMs: 200 });
    let step = await advanceLogin(transport, undefined);
    for (const index of [2, 3]) {
      await new Promise((r) => setTimeout(r, 300));
      step = await advanceLogin(transport, step.ticket, { pollTimeoutMs: 2_000 });
      expect(step).toMatchObject({ state: 'waiting', qrChanged: true, ticket: { index } });
    }
    await new Promise((r) => setTimeout(r, 300));
    const failed = await advanceLogin(transport, step.ticket, { pollTimeoutMs: 2_000 });
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/3 QR codes expired/) });
  });
});
