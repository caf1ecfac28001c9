import { EventEmitter } from 'node:events';
import { LoginError } from '../../shared/errors';
import type { LoginOptions, LoginResult, LoginSession } from '../../shared/login';
import { LoginTracker } from '../../shared/login-tracker';

/** A scripted stand-in for LoginSession: the test decides when it scans, confirms or fails. */
class FakeSession extends EventEmitter {
  qr = { qrcode: 'q1', content: 'https://sim.example/qr/q1', index: 1 };
  codes: string[] = [];
  cancelled = false;
  private settle!: { resolve: (r: LoginResult) => void; reject: (e: Error) => void };
  private readonly result = new Promise<LoginResult>((resolve, reject) => (this.settle = { resolve, reject }));
  constructor(readonly options: LoginOptions) {
    super();
    options.signal?.addEventListener('abort', () => this.cancel());
  }
  qrDataUrl() {
    return Promise.resolve(`data:image/png;base64,${Buffer.from(this.qr.content).toString('base64')}`);
  }
  wait() {
    return this.result;
  }
  submitVerifyCode(code: string) {
    this.codes.push(code);
  }
  cancel() {
    this.cancelled = true;
    this.settle.reject(new LoginError('aborted'));
  }
  confirm(token = 'secret-token-123456') {
    this.settle.resolve({ kind: 'confirmed', token, botId: 'b1@im.bot', baseUrl: 'http://127.0.0.1:1/', userId: 'owner@im.wechat' });
  }
  fail(error: Error) {
    this.settle.reject(error);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(ttlMs = 60_000) {
  const sessions: FakeSession[] = [];
  const tracker = new LoginTracker({
    ttlMs,
    startSession: async (options) => {
      const session = new FakeSession(options);
      sessions.push(session);
      return session as unknown as LoginSession;
    },
  });
  return { tracker, sessions };
}

describe('LoginTracker', () => {
  it('shows the QR code, follows scan and verify, hands the token to the callback only', async () => {
    const { tracker, sessions } = setup();
    const received: string[] = [];
    const first = await tracker.start('node1', { baseUrl: 'http://127.0.0.1:1/' }, (c) => void received.push(c.token));
    expect(first).toMatchObject({ state: 'waiting', qrIndex: 1, qrContent: 'https://sim.example/qr/q1' });
    expect(first.qrDataUrl).toMatch(/^data:image\/png;base64,/);

    const session = sessions[0]!;
    session.emit('scanned');
    expect(tracker.status('node1')?.state).toBe('scanned');
    session.emit('verify-code', { wrong: false });
    expect(tracker.status('node1')).toMatchObject({ state: 'verify-code', wrongCode: false });
    tracker.verify('node1', ' 42 ');
    expect(session.codes).toEqual(['42']);
    session.emit('verify-code', { wrong: true });
    expect(tracker.status('node1')).toMatchObject({ state: 'verify-code', wrongCode: true });

    session.confirm();
    await tick();
    const done = tracker.status('node1')!;
    expect(done).toMatchObject({ state: 'confirmed', botId: 'b1@im.bot', ownerUserId: 'owner@im.wechat', baseUrl: 'http://127.0.0.1:1/' });
    expect(done.qrDataUrl).toBeUndefined();
    expect(JSON.stringify(done)).not.toContain('secret-token');
    expect(received).toEqual(['secret-token-123456']);
  });

  it('keeps one login per key: a second start returns the pending one', async () => {
    const { tracker, sessions } = setup();
    const a = await tracker.start('k', {}, () => undefined);
    const b = await tracker.start('k', {}, () => undefined);
    expect(sessions).toHaveLength(1);
    expect(b.startedAt).toBe(a.startedAt);
    await tracker.start('other', {}, () => undefined);
    expect(sessions).toHaveLength(2);
  });

  it('starts afresh after a finished login', async () => {
    const { tracker, sessions } = setup();
    await tracker.start('k', {}, () => undefined);
    sessions[0]!.fail(new LoginError('qr_expired'));
    await tick();
    expect(tracker.status('k')).toMatchObject({ state: 'failed', error: expect.stringMatching(/3 QR codes expired/) });
    const again = await tracker.start('k', {}, () => undefined);
    expect(again.state).toBe('waiting');
    expect(sessions).toHaveLength(2);
  });

  it('cancel aborts the session and forgets the login', async () => {
    const { tracker, sessions } = setup();
    await tracker.start('k', {}, () => undefined);
    tracker.cancel('k');
    expect(sessions[0]!.cancelled).toBe(true);
    expect(tracker.status('k')).toBeUndefined();
  });

  it('reports a callback failure without the token', async () => {
    const { tracker, sessions } = setup();
    await tracker.start('k', {}, () => {
      throw new Error('disk full');
    });
    sessions[0]!.confirm();
    await tick();
    const status = tracker.status('k')!;
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/disk full/);
    expect(status.botId).toBeUndefined();
  });

  it('shows a refreshed QR code', async () => {
    const { tracker, sessions } = setup();
    await tracker.start('k', {}, () => undefined);
    const session = sessions[0]!;
    session.qr = { qrcode: 'q2', content: 'https://sim.example/qr/q2', index: 2 };
    session.emit('refreshed', session.qr);
    await tick();
    expect(tracker.status('k')).toMatchObject({ state: 'waiting', qrIndex: 2, qrContent: 'https://sim.example/qr/q2' });
  });

  it('a start that fails (server unreachable) is reported as failed', async () => {
    const tracker = new LoginTracker({
      startSession: async () => {
        throw new Error('iLink getbotqrcode: connect ECONNREFUSED; check the network');
      },
    });
    const snapshot = await tracker.start('k', {}, () => undefined);
    expect(snapshot).toMatchObject({ state: 'failed', error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('ends a login that outlives its time and later forgets it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { tracker, sessions } = setup(1_000);
      await tracker.start('k', {}, () => undefined);
      jest.advanceTimersByTime(1_000);
      expect(tracker.status('k')).toMatchObject({ state: 'failed', error: expect.stringMatching(/timed out/) });
      expect(sessions[0]!.cancelled).toBe(true);
      jest.advanceTimersByTime(1_000);
      expect(tracker.status('k')).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
