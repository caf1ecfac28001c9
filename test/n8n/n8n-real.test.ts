/**
 * The n8n nodes inside a real n8n 2.41.1 (one instance for the whole file),
 * against the simulator over real HTTP: QR login through the credential hook,
 * the credential test, an active echo workflow with media both ways,
 * continueOnFail, one trigger per bot, deactivation, a restart, session
 * expiry, and the token nowhere in executions or the log.
 */
import * as path from 'node:path';
import { downloadMedia, renderQrPng, toMessage } from '../../shared';
import { startSimulator, type Simulator } from '../../simulator';
import { startN8n, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { CREDENTIAL_TYPE, echoWorkflow, loginWorkflow, type CredentialRef } from './workflows';

jest.setTimeout(240_000);

const ALICE = 'alice@im.wechat';
const CAROL = 'carol@im.wechat';
// One folder: n8n keys custom loaders by package name (all "CUSTOM"), so a second folder would replace the first.
const distDirs = [path.join(projectRoot, 'dist')];

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && (value as unknown) !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('WeChat iLink nodes in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;
  let loginCredential: CredentialRef;
  let botId = '';
  let botToken = '';
  let echoWorkflowId = '';
  let injectedContextToken = '';

  beforeAll(async () => {
    // A long getupdates hold, so that only an aborted poll can end within a second.
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 30_000 });
    n8n = await startN8n({ customExtensionDirs: distDirs, name: 'n8n-wechat-ilink' });
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

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
  const testCredential = (data: Record<string, unknown>, id?: string) =>
    n8n.rest<{ data: { status: string; message: string } }>('POST', '/credentials/test', {
      credentials: { ...(id ? { id } : {}), name: 'test', type: CREDENTIAL_TYPE, data },
    });

  it('loads the credential and both nodes', async () => {
    const schema = await n8n.api('GET', `/credentials/schema/${CREDENTIAL_TYPE}`);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['baseUrl', 'botToken', 'verifyCode', 'botId', 'ownerUserId']));
    expect(n8n.logText()).not.toMatch(/wechatIlink.*(error|failed)/i);
  });

  it('logs in with the QR code through the credential hook, without the token in any output', async () => {
    // The CDN is the simulator's (a real login uses the official CDN, the default).
    loginCredential = await n8n.createCredential('WeChat iLink (QR)', CREDENTIAL_TYPE, { baseUrl: sim.apiBaseUrl, showAdvanced: true, cdnBaseUrl: sim.cdnBaseUrl });
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
    botId = done.botId;
    const bot = sim.admin.bots().find((b) => b.botId === botId);
    expect(bot).toBeDefined();
    botToken = bot!.token;
    expect(JSON.stringify(done)).not.toContain(botToken);

    // Running it again reports the working login and starts nothing new.
    expect(await postJson('login-json')).toMatchObject({ connected: true, botId });

    // The token reached the credential, and the editor API only sees it blanked.
    const stored = await n8n.rest<{ data: { data: Record<string, string> } }>('GET', `/credentials/${loginCredential.id}?includeData=true`);
    expect(JSON.stringify(stored)).not.toContain(botToken);
    expect(stored.data.data.botId).toBe(botId);
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

  it('tests the credential: passes with a working token, explains an expired session and a missing token', async () => {
    // As the editor does: send the (redacted) stored data back with the id; n8n restores the secrets.
    const stored = await n8n.rest<{ data: { data: Record<string, unknown> } }>('GET', `/credentials/${loginCredential.id}?includeData=true`);
    const own = (await testCredential(stored.data.data, loginCredential.id)).data;
    expect(own).toMatchObject({ status: 'OK' });

    const other = sim.admin.createBot({ ownerUserId: 'bob@im.wechat' });
    const manual = { baseUrl: sim.apiBaseUrl, botToken: other.token, botId: other.botId, ownerUserId: other.ownerUserId };
    const manualRef = await n8n.createCredential('WeChat iLink (typed token)', CREDENTIAL_TYPE, manual);
    expect((await testCredential(manual, manualRef.id)).data).toMatchObject({ status: 'OK' });
    sim.admin.expireSession(other.botId);
    const expired = (await testCredential(manual, manualRef.id)).data;
    expect(expired.status).toBe('Error');
    expect(expired.message).toMatch(/session expired: scan the QR code again/i);
    expect(expired.message).not.toContain(other.token);

    const emptyRef = await n8n.createCredential('WeChat iLink (empty)', CREDENTIAL_TYPE, { baseUrl: sim.apiBaseUrl });
    const empty = (await testCredential({ baseUrl: sim.apiBaseUrl }, emptyRef.id)).data;
    expect(empty).toMatchObject({ status: 'Error' });
    expect(empty.message).toMatch(/not logged in yet/i);
  });

  it('answers a message through an active Trigger → Reply workflow with the right context token', async () => {
    const workflow = await n8n.createWorkflow(echoWorkflow(loginCredential));
    echoWorkflowId = workflow.id;
    await n8n.publishWorkflow(workflow.id);
    await waitFor('the trigger to start polling', () => sim.admin.notifications(botId).some((n) => n.kind === 'start'));

    const injected = sim.admin.injectMessage({ botId, from: ALICE, text: 'hi' });
    injectedContextToken = injected.contextToken;
    const sent = await sim.admin.waitForSent((r) => r.botId === botId && r.to === ALICE && textOf(r.msg) === 'echo: hi', 15_000);
    expect(sent.msg.context_token).toBe(injected.contextToken);

    const [execution] = await n8n.waitForExecutions(workflow.id, 1);
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
    const picture = Buffer.from(await renderQrPng('a picture from alice'));
    const imageItem = await sim.cdn.encryptAndStore(picture, { kind: 'image', fileName: 'alice.png' });
    const before = sim.admin.sentMessages({ botId }).length;
    sim.admin.injectMessage({ botId, from: ALICE, items: [imageItem] });

    const executions = await n8n.waitForExecutions(echoWorkflowId, 2);
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

  it('refuses a second active trigger on the same bot with a clear message', async () => {
    const second = await n8n.createWorkflow(echoWorkflow(loginCredential, 'second listener'));
    await n8n.publishWorkflow(second.id);
    // n8n 2.41.1 answers the publish at once, retries a failing trigger() with a growing delay,
    // and then reports the trigger's refusal as the activation error (in the log and the editor).
    const expected = `another receiver is already polling this bot (n8n workflow ${echoWorkflowId} "echo bot")`;
    await waitFor('the activation error', () => n8n.logText().includes(expected), 150_000, 500);
    await n8n.unpublishWorkflow(second.id);
  });

  it('survives a restart of n8n without re-emitting or losing messages', async () => {
    const repliesBefore = sim.admin.sentMessages({ botId, to: ALICE }).filter((r) => textOf(r.msg).startsWith('echo:')).length;
    const executionsBefore = (await n8n.waitForExecutions(echoWorkflowId, 2)).length;
    await n8n.stop();
    // Written while n8n is down: must arrive once after the restart.
    sim.admin.injectMessage({ botId, from: ALICE, text: 'while down' });
    const startsBefore = sim.admin.notifications(botId).filter((n) => n.kind === 'start').length;
    await n8n.restart();
    await waitFor('the trigger to poll again', () => sim.admin.notifications(botId).filter((n) => n.kind === 'start').length > startsBefore, 60_000);
    await sim.admin.waitForSent((r) => textOf(r.msg) === 'echo: while down', 20_000);
    sim.admin.injectMessage({ botId, from: ALICE, text: 'after restart' });
    await sim.admin.waitForSent((r) => textOf(r.msg) === 'echo: after restart', 20_000);
    await n8n.waitForExecutions(echoWorkflowId, executionsBefore + 2);
    await new Promise((r) => setTimeout(r, 1_500));

    const replies = sim.admin.sentMessages({ botId, to: ALICE }).map((r) => textOf(r.msg)).filter((t) => t.startsWith('echo:'));
    expect(replies).toHaveLength(repliesBefore + 2);
    expect(replies.filter((t) => t === 'echo: hi')).toHaveLength(1);
    expect(replies.filter((t) => t === 'echo: while down')).toHaveLength(1);
    const executions = await n8n.waitForExecutions(echoWorkflowId, executionsBefore + 2);
    expect(executions).toHaveLength(executionsBefore + 2);
  });

  it('stops polling within a second of deactivation', async () => {
    const stopsBefore = sim.admin.notifications(botId).filter((n) => n.kind === 'stop').length;
    const t0 = Date.now();
    await n8n.unpublishWorkflow(echoWorkflowId);
    await waitFor('notifystop', () => sim.admin.notifications(botId).filter((n) => n.kind === 'stop').length > stopsBefore, 5_000, 20);
    expect(Date.now() - t0).toBeLessThan(1_000);
    const executions = (await n8n.waitForExecutions(echoWorkflowId, 1)).length;
    sim.admin.injectMessage({ botId, from: ALICE, text: 'nobody listens' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await n8n.waitForExecutions(echoWorkflowId, 1)).length).toBe(executions);
  });

  it('reports an expired session through emitError with the re-login instruction', async () => {
    await n8n.publishWorkflow(echoWorkflowId);
    const startsBefore = sim.admin.notifications(botId).filter((n) => n.kind === 'start').length;
    await waitFor('the trigger to poll', () => sim.admin.notifications(botId).filter((n) => n.kind === 'start').length > startsBefore, 20_000);
    sim.admin.expireSession(botId);
    // emitError: n8n logs the trigger's error and retries the activation, which the trigger then
    // refuses up front (getconfig says -14), so the retries back off instead of polling in a loop.
    await waitFor('the trigger error in the log', () => n8n.logText().includes('session expired (iLink code -14 on getupdates)'), 40_000, 200);
    await waitFor('the refused re-activation', () => /problem activating the workflow: "session expired \(iLink code -14 on getconfig\)/.test(n8n.logText()), 40_000, 200);
  });

  it('never puts the bot token in execution data or the n8n log', async () => {
    const all = await n8n.api<{ data: unknown[] }>('GET', '/executions?includeData=true&limit=250');
    expect(all.data.length).toBeGreaterThan(5);
    const dump = JSON.stringify(all);
    expect(dump).not.toContain(botToken);
    for (const bot of sim.admin.bots()) {
      expect(dump).not.toContain(bot.token);
      expect(n8n.logText()).not.toContain(bot.token);
    }
  });
});

function textOf(msg: { item_list?: Array<{ type?: number; text_item?: { text?: string } }> }): string {
  return (msg.item_list ?? []).filter((i) => i.type === 1).map((i) => i.text_item?.text ?? '').join('');
}
