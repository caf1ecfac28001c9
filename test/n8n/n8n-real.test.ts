/**
 * The n8n nodes inside a real n8n 2.41.1 (one instance for the whole file),
 * against the simulator over real HTTP: QR login through the credential hook,
 * an active echo workflow with media both ways,
 * continueOnFail, two triggers on one bot, deactivation, a restart, session
 * expiry, and the token nowhere in executions or the log. Each test stands
 * alone (n8n and the simulator are shared): a test that needs an active
 * trigger gets a bot, a credential and an echo workflow of its own, and its
 * workflows are unpublished after it, so no queued message or poller of one
 * test reaches another. The credential's Test button is in
 * n8n-credential-test.test.ts: n8n finds a node's testedBy only in an
 * installed package, not in the custom extensions folder used here.
 */
import * as path from 'node:path';
import { renderQrPng, toMessage } from '../../shared';
import { downloadMedia } from '../../shared/media';
import { startSimulator, type Simulator } from '../../simulator';
import { startN8n, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { CREDENTIAL_TYPE, echoWorkflow, loginWorkflow } from './workflows';

jest.setTimeout(240_000);

const ALICE = 'alice@im.wechat';
const CAROL = 'carol@im.wechat';
// One folder: n8n keys custom loaders by package name (all "CUSTOM"), so a second folder would replace the first.
const distDirs = [path.join(projectRoot, 'dist')];

describe('WeChat iLink nodes in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;

  beforeAll(async () => {
    // A long getupdates hold, so that only an aborted poll can end within a second.
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 30_000 });
    n8n = await startN8n({ customExtensionDirs: distDirs, name: 'n8n-wechat-ilink' });
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  /** Workflows with a trigger that the current test published; unpublished after it. */
  const published: string[] = [];
  afterEach(async () => {
    // Already unpublished ones (the deactivation test) answer an error: nothing to undo.
    for (const id of published.splice(0)) await n8n.unpublishWorkflow(id).catch(() => undefined);
  });

  async function publishTrigger(workflowId: string): Promise<void> {
    await n8n.publishWorkflow(workflowId);
    published.push(workflowId);
  }

  /** A new simulator bot with its credential, and an active echo workflow on it that polls. */
  async function activeEcho(name = 'echo bot') {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(n8n, sim, bot, `${name} credential`);
    const { id: workflowId } = await n8n.createWorkflow(echoWorkflow(credential, name));
    await publishTrigger(workflowId);
    await waitFor('the trigger to start polling', () => sim.admin.notifications(bot.botId).some((n) => n.kind === 'start'), 30_000);
    return { bot, credential, workflowId };
  }

  const startsOf = (botId: string) => sim.admin.notifications(botId).filter((n) => n.kind === 'start').length;
  const echoesTo = (botId: string, user: string) =>
    sim.admin
      .sentMessages({ botId, to: user })
      .map((r) => textOf(r.msg))
      .filter((t) => t.startsWith('echo:'));

  const post = async (webhookPath: string, body: unknown = {}) => {
    const res = await fetch(`${n8n.url}/webhook/${webhookPath}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const postJson = async (webhookPath: string, body: unknown = {}) => {
    const answer = await post(webhookPath, body);
    const text = answer.bytes.toString('utf8');
    if (answer.status !== 200) throw new Error(`webhook ${webhookPath} → ${answer.status}: ${text}`);
    return JSON.parse(text) as Record<string, any>;
  };

  it('loads the credential and both nodes', async () => {
    const schema = await n8n.api('GET', `/credentials/schema/${CREDENTIAL_TYPE}`);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['baseUrl', 'botToken', 'verifyCode', 'botId', 'ownerUserId']));
    expect(n8n.logText()).not.toMatch(/wechatIlink.*(error|failed)/i);
  });

  it('logs in with the QR code through the credential hook, without the token in any output', async () => {
    // The CDN is the simulator's (a real login uses the official CDN, the default).
    const loginCredential = await n8n.createCredential('WeChat iLink (QR)', CREDENTIAL_TYPE, { baseUrl: sim.apiBaseUrl, showAdvanced: true, cdnBaseUrl: sim.cdnBaseUrl });
    for (const [webhookPath, answer] of [['login-qr', 'qr'], ['login-json', 'json']] as const) {
      const workflow = await n8n.createWorkflow(loginWorkflow(loginCredential, webhookPath, answer));
      await n8n.publishWorkflow(workflow.id);
      await n8n.waitForWebhookRegistered(webhookPath, true, 10_000);
    }

    // Run 1: a fresh credential; the step fetches a QR code, and the node outputs it as a PNG.
    const qr = await post('login-qr');
    expect(qr.status).toBe(200);
    expect(qr.type).toContain('image/png');
    const qrcode = sim.admin.lastQrcode() as string;
    expect(qrcode).toBeTruthy();
    const phoneUrl = `${sim.url}/phone/${qrcode}`;
    // The PNG is exactly the QR code of the simulator's phone page for this login.
    expect(qr.bytes.equals(await renderQrPng(phoneUrl))).toBe(true);

    // Status without a scan: still waiting, same QR code.
    const waiting = await postJson('login-json');
    expect(waiting).toMatchObject({ connected: false, state: 'waiting', qrIndex: 1 });

    // "Scan": open the QR content (the phone page), then confirm on the phone.
    expect((await fetch(phoneUrl)).status).toBe(200);
    const confirm = await fetch(`${sim.url}/_phone/${qrcode}/confirm`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(confirm.status).toBe(200);

    const done = await postJson('login-json', { wait: 20 });
    expect(done).toMatchObject({ connected: true, state: 'connected' });
    const botId = done.botId;
    const bot = sim.admin.bots().find((b) => b.botId === botId);
    expect(bot).toBeDefined();
    const botToken = bot!.token;
    expect(JSON.stringify(done)).not.toContain(botToken);

    // Running it again reports the working login and starts nothing new.
    expect(await postJson('login-json')).toMatchObject({ connected: true, botId });

    // The token reached the credential, and the editor API only sees it blanked.
    const stored = await n8n.rest<{ data: { data: Record<string, string> } }>('GET', `/credentials/${loginCredential.id}?includeData=true`);
    expect(JSON.stringify(stored)).not.toContain(botToken);
    expect(stored.data.data.botId).toBe(botId);

    // What the login stored drives a trigger and a reply.
    const { id: echoId } = await n8n.createWorkflow(echoWorkflow(loginCredential, 'QR echo'));
    await publishTrigger(echoId);
    sim.admin.injectMessage({ botId, from: ALICE, text: 'after login' });
    await sim.admin.waitForSent((r) => r.botId === botId && textOf(r.msg) === 'echo: after login', 30_000);
  });

  it('handles a verification number and a refreshed QR code', async () => {
    const credential = await n8n.createCredential('WeChat iLink (verify)', CREDENTIAL_TYPE, { baseUrl: sim.apiBaseUrl });
    const workflow = await n8n.createWorkflow(loginWorkflow(credential, 'login-verify', 'json'));
    await n8n.publishWorkflow(workflow.id);
    await n8n.waitForWebhookRegistered('login-verify', true, 10_000);
    sim.admin.setLoginScenario({ verifyCode: true, qrExpireMs: 60_000 });
    try {
      expect(await postJson('login-verify')).toMatchObject({ state: 'waiting', qrIndex: 1 });
      const qrcode = sim.admin.lastQrcode() as string;
      // Another phone user: a second login by the same user would end the first bot's session.
      sim.admin.scanQr(qrcode, CAROL);
      const asked = await postJson('login-verify', { wait: 10 });
      expect(asked).toMatchObject({ state: 'verify-code', wrongCode: false });
      const code = sim.admin.verifyCodeFor(qrcode) as string;
      const wrong = String((Number(code) + 1) % 100).padStart(code.length, '0');
      expect(await postJson('login-verify', { code: wrong, wait: 10 })).toMatchObject({ state: 'verify-code', wrongCode: true });
      const accepted = await postJson('login-verify', { code, wait: 0 });
      expect(accepted).toMatchObject({ connected: false, state: 'scanned' });
      sim.admin.confirmQr(qrcode, CAROL);
      expect(await postJson('login-verify', { wait: 20 })).toMatchObject({ connected: true });

      // Start over: the old token goes, a new QR code comes; an expired code is replaced by the next one.
      sim.admin.setLoginScenario({ qrExpireMs: 300 });
      expect(await postJson('login-verify', { startOver: true })).toMatchObject({ connected: false, state: 'waiting', qrIndex: 1 });
      await new Promise((r) => setTimeout(r, 600));
      expect(await postJson('login-verify', { wait: 5 })).toMatchObject({ connected: false, state: 'waiting', qrIndex: 2 });
    } finally {
      sim.admin.setLoginScenario({});
    }
  });

  it('answers a message through an active Trigger → Reply workflow with the right context token', async () => {
    const { bot, workflowId } = await activeEcho();
    const botId = bot.botId;
    const injected = sim.admin.injectMessage({ botId, from: ALICE, text: 'hi' });
    const sent = await sim.admin.waitForSent((r) => r.botId === botId && r.to === ALICE && textOf(r.msg) === 'echo: hi', 15_000);
    expect(sent.msg.context_token).toBe(injected.contextToken);

    const [execution] = await n8n.waitForExecutions(workflowId, 1);
    expect(execution.status).toBe('success');
    const runData = execution.data.resultData.runData;
    const item = runData['WeChat iLink Trigger'][0].data.main[0][0].json;
    expect(item).toMatchObject({ from: ALICE, text: 'hi', messageId: injected.messageId, contextToken: injected.contextToken });
    expect(typeof item.messageId).toBe('string');
    // continueOnFail: the text message has no binary, so Send Media yields an error item.
    const mediaOut = runData['Send Back Media'][0].data.main[0][0];
    expect(mediaOut.json.error).toMatch(/no binary property "data"/);
    expect(mediaOut.pairedItem).toMatchObject({ item: 0 });
  });

  it('downloads inbound media into binary and sends it back through the CDN', async () => {
    const { bot, workflowId } = await activeEcho();
    const botId = bot.botId;
    const picture = Buffer.from(await renderQrPng('a picture from alice'));
    const imageItem = await sim.cdn.encryptAndStore(picture, { kind: 'image', fileName: 'alice.png' });
    const before = sim.admin.sentMessages({ botId }).length;
    sim.admin.injectMessage({ botId, from: ALICE, items: [imageItem] });

    const executions = await n8n.waitForExecutions(workflowId, 1);
    const runData = executions[0].data.resultData.runData;
    const triggerOut = runData['WeChat iLink Trigger'][0].data.main[0][0];
    expect(triggerOut.binary.data).toMatchObject({ mimeType: 'image/png' });
    expect(triggerOut.json.media).toMatchObject({ kind: 'image', mimeType: 'image/png', size: picture.length });
    expect(runData['Send Back Media'][0].data.main[0][0].json).toMatchObject({ sent: true, to: ALICE });

    const sentImage = await sim.admin.waitForSent((r) => r.index >= before && r.botId === botId && (r.msg.item_list ?? []).some((i) => i.type === 2), 5_000);
    const message = toMessage(sentImage.msg);
    const media = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, message.items.find((i) => i.type === 'image')!);
    expect(media.data.equals(picture)).toBe(true);
    await sim.admin.waitForSent((r) => r.index >= before && textOf(r.msg) === 'here it is', 5_000);
  });

  it('a second active trigger on the same bot receives through the same poller: both workflows answer', async () => {
    const first = await activeEcho('echo bot');
    const botId = first.bot.botId;
    const second = await n8n.createWorkflow(echoWorkflow(first.credential, 'second listener'));
    await publishTrigger(second.id);
    // n8n activates a published workflow in the background: write until the second one has answered too.
    for (let i = 1; (await allExecutions(n8n, second.id, false)).length === 0; i++) {
      if (i > 20) throw new Error('the second workflow received nothing');
      sim.admin.injectMessage({ botId, from: CAROL, text: `warm-up ${i}` });
      await new Promise((r) => setTimeout(r, 1_000));
    }
    sim.admin.injectMessage({ botId, from: ALICE, text: 'to both' });
    await waitFor('both echoes', () => echoesTo(botId, ALICE).length === 2, 15_000);
    expect(echoesTo(botId, ALICE)).toEqual(['echo: to both', 'echo: to both']);
    const answered = async (workflowId: string) => (await allExecutions(n8n, workflowId, true)).map((e) => triggerItem(e)?.text).filter((t) => t === 'to both');
    expect(await answered(first.workflowId)).toEqual(['to both']);
    expect(await answered(second.id)).toEqual(['to both']);
    // One poller for the bot: the second workflow joined it, nothing was refused.
    expect(startsOf(botId)).toBe(1);
    expect(n8n.logText()).not.toContain('another receiver is already polling');
  });

  it('survives a restart of n8n without re-emitting or losing messages', async () => {
    const { bot, workflowId } = await activeEcho();
    const botId = bot.botId;
    sim.admin.injectMessage({ botId, from: ALICE, text: 'before restart' });
    await sim.admin.waitForSent((r) => r.botId === botId && textOf(r.msg) === 'echo: before restart', 15_000);
    await n8n.waitForExecutions(workflowId, 1);
    await n8n.stop();
    // Written while n8n is down: must arrive once after the restart.
    sim.admin.injectMessage({ botId, from: ALICE, text: 'while down' });
    const startsBefore = startsOf(botId);
    await n8n.restart();
    await waitFor('the trigger to poll again', () => startsOf(botId) > startsBefore, 60_000);
    await sim.admin.waitForSent((r) => r.botId === botId && textOf(r.msg) === 'echo: while down', 20_000);
    sim.admin.injectMessage({ botId, from: ALICE, text: 'after restart' });
    await sim.admin.waitForSent((r) => r.botId === botId && textOf(r.msg) === 'echo: after restart', 20_000);
    await n8n.waitForExecutions(workflowId, 3);
    // Time for a message re-emitted after the restart to show up as a second answer or execution.
    await new Promise((r) => setTimeout(r, 1_500));

    expect(echoesTo(botId, ALICE)).toEqual(['echo: before restart', 'echo: while down', 'echo: after restart']);
    expect(await n8n.waitForExecutions(workflowId, 3)).toHaveLength(3);
  });

  it('stops polling within a second of deactivation', async () => {
    const { bot, workflowId } = await activeEcho();
    const botId = bot.botId;
    sim.admin.injectMessage({ botId, from: ALICE, text: 'still listening' });
    await n8n.waitForExecutions(workflowId, 1);
    const stopsBefore = sim.admin.notifications(botId).filter((n) => n.kind === 'stop').length;
    const t0 = Date.now();
    await n8n.unpublishWorkflow(workflowId);
    await waitFor('notifystop', () => sim.admin.notifications(botId).filter((n) => n.kind === 'stop').length > stopsBefore, 5_000, 20);
    expect(Date.now() - t0).toBeLessThan(1_000);
    sim.admin.injectMessage({ botId, from: ALICE, text: 'nobody listens' });
    // Time for a poller that still ran to fetch and emit it.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await n8n.waitForExecutions(workflowId, 1)).toHaveLength(1);
    expect(echoesTo(botId, ALICE)).toEqual(['echo: still listening']);
  });

  it('reports an expired session through emitError with the re-login instruction', async () => {
    const { bot } = await activeEcho();
    const logFrom = n8n.logText().length;
    const log = () => n8n.logText().slice(logFrom);
    sim.admin.expireSession(bot.botId);
    // emitError: n8n logs the trigger's error and retries the activation, which the trigger then
    // refuses up front (getconfig says -14), so the retries back off instead of polling in a loop.
    await waitFor('the trigger error in the log', () => log().includes('session expired (iLink code -14 on getupdates)'), 40_000, 200);
    await waitFor('the refused re-activation', () => /problem activating the workflow: "session expired \(iLink code -14 on getconfig\)/.test(log()), 40_000, 200);
  });

  it('never puts the bot token in execution data or the n8n log', async () => {
    const { bot, workflowId } = await activeEcho();
    const picture = Buffer.from(await renderQrPng('a token-free picture'));
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hi' });
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, items: [await sim.cdn.encryptAndStore(picture, { kind: 'image', fileName: 'p.png' })] });
    await n8n.waitForExecutions(workflowId, 2);
    // Every execution of the file so far (this test's at least), against every bot's token.
    const all = await n8n.api<{ data: unknown[] }>('GET', '/executions?includeData=true&limit=250');
    expect(all.data.length).toBeGreaterThanOrEqual(2);
    const dump = JSON.stringify(all);
    for (const { token } of sim.admin.bots()) {
      expect(dump).not.toContain(token);
      expect(n8n.logText()).not.toContain(token);
    }
  });
});
