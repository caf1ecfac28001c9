import * as path from 'node:path';
import { startNodeRed, type NodeRedFlowNode, type NodeRedInstance } from '../harness/node-red';
import { projectRoot } from '../harness/output';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { until } from '../helpers/until';
import { useSimulator, type SimBot } from './sim-fixture';

jest.setTimeout(120_000);

// The login endpoints in a real Node-RED with adminAuth on: who may call them, which ids
// they act on, and where a stored token may go. The "foreign server" is a recording HTTP
// server that plays a hostile iLink host: it hands out a QR code and confirms at once.

const USERS = {
  admin: { password: 'admin-pass-1', permissions: '*', scope: '*' },
  viewer: { password: 'viewer-pass-1', permissions: 'read', scope: 'read' },
} as const;
type User = keyof typeof USERS;

const FOREIGN_SECRET = 'foreign-service-secret-0001';
const HOSTILE_TOKEN = 'hostile-token-0001';
const PENDING = new Set(['starting', 'waiting', 'scanned', 'verify-code']);

function adminAuth(): Record<string, unknown> {
  // Node-RED's own bcrypt library, so the hashes are what its login checks.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red'))] }));
  return {
    type: 'credentials',
    users: Object.entries(USERS).map(([username, user]) => ({ username, password: bcrypt.hashSync(user.password, 8), permissions: user.permissions })),
    // Anyone may read (the harness polls /settings); only a login may write.
    default: { permissions: 'read' },
  };
}

/**
 * A subflow instance holding a `token` credential (a user's API token for some other
 * service): a node of another type. Its subflow serves GET /probe-token with the token
 * it runs with, so a test can see whether that credential changed.
 */
function flow(sim: { apiBaseUrl: string; cdnBaseUrl: string }, bot: SimBot): NodeRedFlowNode[] {
  return [
    { id: 'tab1', type: 'tab', label: 'login security' },
    { id: 'sf-secret', type: 'subflow', name: 'uses a token', in: [], out: [], env: [{ name: 'token', type: 'cred' }] },
    { id: 'sf-in', type: 'http in', z: 'sf-secret', url: '/probe-token', method: 'get', x: 100, y: 40, wires: [['sf-set']] },
    { id: 'sf-set', type: 'change', z: 'sf-secret', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'token', tot: 'env' }], x: 250, y: 40, wires: [['sf-out']] },
    { id: 'sf-out', type: 'http response', z: 'sf-secret', x: 400, y: 40, wires: [] },
    { id: 'foreign', type: 'subflow:sf-secret', z: 'tab1', env: [{ name: 'token', type: 'cred' }], x: 100, y: 100, wires: [], credentials: { token: FOREIGN_SECRET } },
    {
      id: 'bot',
      type: 'ilink-config',
      z: 'tab1',
      name: 'secured bot',
      baseUrl: sim.apiBaseUrl,
      cdnBaseUrl: sim.cdnBaseUrl,
      botId: bot.botId,
      ownerUserId: bot.ownerUserId,
      credentials: { token: bot.token },
    },
  ];
}

/** Answers like an iLink host that confirms every login at once, with a token of its own. */
function playHostileHost(server: ScriptedServer): void {
  server.fallback = (request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const qr = request.url.includes('get_bot_qrcode');
    res.end(
      JSON.stringify(
        qr
          ? { qrcode: 'hostile-qr', qrcode_img_content: `${server.url}/qr` }
          : { status: 'confirmed', bot_token: HOSTILE_TOKEN, ilink_bot_id: 'hostile@im.bot', baseurl: server.url, ilink_user_id: 'mallory@im.wechat' },
      ),
    );
  };
}

describe.each([5, 4] as const)('login endpoints with adminAuth (Node-RED %i)', (version) => {
  const simulator = useSimulator();
  let red: NodeRedInstance;
  let hostile: ScriptedServer;
  let bot: SimBot;
  const tokens: Partial<Record<User, string>> = {};

  async function call(method: 'GET' | 'POST', urlPath: string, user?: User, body?: object): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(red.url + urlPath, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(user ? { Authorization: `Bearer ${tokens[user]}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }

  async function logIn(user: User): Promise<string> {
    const res = await fetch(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: USERS[user].scope, username: user, password: USERS[user].password }),
    });
    if (!res.ok) throw new Error(`login of ${user} failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A full deploy as the admin; resolves once the new flows run. */
  async function deploy(nodes: NodeRedFlowNode[]): Promise<void> {
    const mark = red.logText().length;
    await red.request('POST', '/flows', { flows: nodes }, {
      Authorization: `Bearer ${tokens.admin}`,
      'Node-RED-Deployment-Type': 'full',
      'Node-RED-API-Version': 'v2',
    });
    await until(() => /Started flows/.test(red.logText().slice(mark)), 15_000);
  }

  /** Polls the login status until it is no longer pending (a refused id answers at once). */
  async function settled(id: string): Promise<Record<string, any>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const last = (await call('GET', `/ilink-config/${id}/login`, 'admin')).body;
      if (!PENDING.has(last.state) || Date.now() > deadline) return last;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    const sim = simulator();
    bot = sim.admin.createBot();
    hostile = await startScriptedServer();
    playHostileHost(hostile);
    red = await startNodeRed({ version, nodesDir: [projectRoot], adminAuth: adminAuth(), name: `node-red-${version}-login-security` });
    tokens.admin = await logIn('admin');
    tokens.viewer = await logIn('viewer');
    await deploy(flow(sim, bot));
  });
  afterAll(async () => {
    await red?.stop();
    await hostile?.close();
  });
  beforeEach(() => {
    hostile.requests.length = 0;
  });

  it('a read-only user, or no login, may not use the login endpoints', async () => {
    for (const user of ['viewer', undefined] as const) {
      expect((await call('POST', '/ilink-config/bot/login', user, { baseUrl: hostile.url })).status).toBe(401);
      expect((await call('GET', '/ilink-config/bot/login', user)).status).toBe(401);
      expect((await call('POST', '/ilink-config/bot/login/verify', user, { code: '123456' })).status).toBe(401);
      expect((await call('POST', '/ilink-config/bot/login/cancel', user, {})).status).toBe(401);
    }
    expect(hostile.requests).toEqual([]);
    // The admin may (nothing is running for the bot yet).
    expect(await call('GET', '/ilink-config/bot/login', 'admin')).toEqual({ status: 200, body: { state: 'none' } });
  });

  it("refuses another node's id: its token never leaves, and it keeps its credentials", async () => {
    const started = await call('POST', '/ilink-config/foreign/login', 'admin', { baseUrl: hostile.url });
    // Had a login started, let it finish (the hostile host confirms at once) before looking.
    const after = await settled('foreign');

    expect(started.status).toBe(403);
    expect(started.body).toEqual({ state: 'failed', error: expect.stringContaining('is a "subflow:sf-secret" node, not a WeChat iLink config node') });
    expect(after.state).toBe('failed');
    expect((await call('POST', '/ilink-config/foreign/login/cancel', 'admin', {})).status).toBe(403);
    expect(hostile.requests).toEqual([]);

    // A Deploy saves the credential store and restarts the subflow with what it holds.
    await deploy(flow(simulator(), bot).map(({ credentials: _dropped, ...node }) => node));
    expect(await (await fetch(`${red.url}/probe-token`)).text()).toBe(FOREIGN_SECRET);
  });

  it("sends the stored token to the node's own API base only", async () => {
    const sim = simulator();
    // Own base: the server sees the stored token and answers "already bound".
    const own = await call('POST', '/ilink-config/bot/login', 'admin', { baseUrl: sim.apiBaseUrl });
    expect(own.body.state).toBe('waiting');
    sim.admin.confirmQr(sim.admin.lastQrcode()!, bot.ownerUserId);
    expect((await settled('bot')).state).toBe('already-bound');

    // Another base: a new login, without the stored token.
    const elsewhere = await call('POST', '/ilink-config/bot/login', 'admin', { baseUrl: `${hostile.url}/elsewhere` });
    expect(elsewhere.status).toBe(200);
    await call('POST', '/ilink-config/bot/login/cancel', 'admin', {});
    const qrRequest = hostile.requests.find((r) => r.url.includes('get_bot_qrcode'));
    expect(JSON.parse(qrRequest!.body)).toEqual({ local_token_list: [] });
    for (const request of hostile.requests) expect(JSON.stringify(request)).not.toContain(bot.token);
  });
});
