import { helper } from '../harness/node-red-test-helper';
import { startScriptedServer } from '../helpers/scripted-server';
import { collect, eventually, onTab } from './flow-util';
import { useSimulator } from './sim-fixture';
import { allNodes, useHelper } from './use-helper';

type Snapshot = { state: string; qrDataUrl?: string; qrContent?: string; botId?: string; ownerUserId?: string; baseUrl?: string; error?: string };

// The admin endpoints behind "Log in with WeChat", driven as the editor does, with the
// simulator playing the phone.
describe('ilink-config QR login endpoints', () => {
  useHelper('node-red-config-login');
  const simulator = useSimulator();

  async function call(method: 'get' | 'post', path: string, body?: object): Promise<{ status: number; body: Snapshot & Record<string, unknown> }> {
    const request = (helper as any).request()[method](path);
    const res = method === 'post' ? await request.send(body ?? {}) : await request;
    return { status: res.status, body: res.body };
  }

  async function waitForState(id: string, state: string): Promise<Snapshot> {
    let last: Snapshot | undefined;
    return eventually(`login state ${state} (last: ${JSON.stringify(last)})`, () => {
      void call('get', `/ilink-config/${id}/login`).then((r) => (last = r.body));
      return last?.state === state ? last : undefined;
    }, 10_000);
  }

  it('logs in an undeployed config node: QR as data URL, token stored in credentials, never in a response', async () => {
    const sim = simulator();
    await helper.load(allNodes, onTab([{ id: 'other', type: 'helper' }]));
    const started = await call('post', '/ilink-config/newbot1/login', { baseUrl: sim.apiBaseUrl });
    expect(started.status).toBe(200);
    expect(started.body.state).toBe('waiting');
    expect(started.body.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(started.body.qrContent).toContain(sim.url);

    const qrcode = sim.admin.lastQrcode()!;
    sim.admin.scanQr(qrcode);
    await waitForState('newbot1', 'scanned');
    sim.admin.confirmQr(qrcode);
    const done = await waitForState('newbot1', 'confirmed');
    const bot = sim.admin.bots().find((b) => b.botId === done.botId)!;
    expect(bot).toBeDefined();
    expect(done).toMatchObject({ ownerUserId: bot.ownerUserId });
    expect(done.baseUrl).toContain(sim.url);
    expect(JSON.stringify(done)).not.toContain(bot.token);
    // The token went into the runtime's credential store for that id.
    const credentials = (helper as any)._redNodes.getCredentials('newbot1');
    expect(credentials).toEqual({ token: bot.token });
  });

  it('asks for the verification number and accepts it', async () => {
    const sim = simulator();
    sim.admin.setLoginScenario({ verifyCode: true });
    try {
      await helper.load(allNodes, onTab([{ id: 'other', type: 'helper' }]));
      await call('post', '/ilink-config/newbot2/login', { baseUrl: sim.apiBaseUrl });
      const qrcode = sim.admin.lastQrcode()!;
      sim.admin.scanQr(qrcode);
      await waitForState('newbot2', 'verify-code');
      const bad = await call('post', '/ilink-config/newbot2/login/verify', { code: 'abc' });
      expect(bad.status).toBe(400);
      const code = sim.admin.verifyCodeFor(qrcode)!;
      const ok = await call('post', '/ilink-config/newbot2/login/verify', { code });
      expect(ok.status).toBe(200);
      // The runtime sends the number with its next status poll; then the phone can confirm.
      await eventually('the number accepted', () => {
        try {
          return sim.admin.confirmQr(qrcode);
        } catch {
          return undefined;
        }
      });
      await waitForState('newbot2', 'confirmed');
    } finally {
      sim.admin.setLoginScenario({});
    }
  });

  it('a deployed config node whose session expired receives again right after the new login', async () => {
    const sim = simulator();
    // Deployed without a token: its ilink-in is red ("not logged in").
    await helper.load(
      allNodes,
      onTab([
        { id: 'bot', type: 'ilink-config', config: true, baseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl },
        { id: 'in', type: 'ilink-in', bot: 'bot', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
    );
    const out = collect('out');
    await call('post', '/ilink-config/bot/login', { baseUrl: sim.apiBaseUrl });
    const qrcode = sim.admin.lastQrcode()!;
    sim.admin.confirmQr(qrcode);
    const done = await waitForState('bot', 'confirmed');
    sim.admin.injectMessage({ botId: done.botId!, from: 'alice@im.wechat', text: 'after login' });
    await eventually('a msg on the new token', () => out.length === 1, 8_000);
    expect(out[0]!.payload).toBe('after login');
  });

  it('cancel forgets the login; bad ids and URLs are refused', async () => {
    const sim = simulator();
    await helper.load(allNodes, onTab([{ id: 'other', type: 'helper' }]));
    await call('post', '/ilink-config/newbot3/login', { baseUrl: sim.apiBaseUrl });
    const cancelled = await call('post', '/ilink-config/newbot3/login/cancel');
    expect(cancelled.body.state).toBe('none');
    expect((await call('get', '/ilink-config/newbot3/login')).body.state).toBe('none');
    expect((await call('post', '/ilink-config/bad%20id/login', {})).status).toBe(400);
    expect((await call('post', '/ilink-config/x1/login', { baseUrl: 'file:///etc/passwd' })).status).toBe(400);
  });

  it('an undeployed config node may log in again before Deploy, and its new token stays home', async () => {
    const sim = simulator();
    const elsewhere = await startScriptedServer();
    try {
      await helper.load(allNodes, onTab([{ id: 'other', type: 'helper' }]));
      await call('post', '/ilink-config/newbot4/login', { baseUrl: sim.apiBaseUrl });
      sim.admin.confirmQr(sim.admin.lastQrcode()!);
      const done = await waitForState('newbot4', 'confirmed');
      const token = sim.admin.bots().find((b) => b.botId === done.botId)!.token;

      // Not deployed yet: nothing says where that token belongs, so it is not sent anywhere.
      const again = await call('post', '/ilink-config/newbot4/login', { baseUrl: elsewhere.url });
      expect(again.status).toBe(200);
      expect(JSON.parse(elsewhere.requests[0]!.body)).toEqual({ local_token_list: [] });
      expect(JSON.stringify(elsewhere.requests)).not.toContain(token);
      await call('post', '/ilink-config/newbot4/login/cancel');
    } finally {
      await elsewhere.close();
    }
  });

  it("refuses an undeployed id that holds another node's credentials, and leaves them as they were", async () => {
    const elsewhere = await startScriptedServer();
    try {
      await helper.load(allNodes, onTab([{ id: 'other', type: 'helper' }]));
      // What another node's admin endpoint (an OAuth login, say) may store before its node is deployed.
      const redNodes = (helper as any)._redNodes;
      await redNodes.addCredentials('ghost1', { token: 'other-service-token', secret: 'other-secret' });

      const refused = await call('post', '/ilink-config/ghost1/login', { baseUrl: elsewhere.url });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toContain("holds another node's credentials");
      expect(elsewhere.requests).toEqual([]);
      expect(redNodes.getCredentials('ghost1')).toEqual({ token: 'other-service-token', secret: 'other-secret' });
    } finally {
      await elsewhere.close();
    }
  });
});
