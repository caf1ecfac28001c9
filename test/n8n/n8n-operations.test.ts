/**
 * The operations that unit tests alone covered, now inside a real n8n 2.41.1
 * (one instance for the file) against the strict simulator: the Trigger's
 * typing indicator around an execution (also a failing one), "Listen for test
 * event" driven as the editor drives it (POST /rest/workflows/:id/run with
 * triggerToStartFrom; then cancelled), and the action node's Recall, Media →
 * Upload and Typing → start / stop. Each test checks both what the simulator
 * recorded and what the execution output shows, and the bot tokens stay out
 * of execution data and the n8n log. One bot per concern, so that the
 * published trigger, the test listener and the action workflows never share
 * a bot's single poller.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { buildMediaItem, ILinkClient, renderQrPng, toItem, toMessage, type UploadedMedia } from '../../shared';
import { downloadMedia } from '../../shared/media';
import type { GetConfigResponse } from '../../shared/wire';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8n, type N8nExecution, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import {
  manualTriggerWorkflow,
  processingWorkflow,
  recallWorkflow,
  sendThenRecallWorkflow,
  TRIGGER_NAME,
  typingTriggerWorkflow,
  typingWorkflow,
  uploadWorkflow,
} from './operations-workflows';
import { simulatorCredential } from './n8n-fault-helpers';
import type { CredentialRef } from './workflows';

jest.setTimeout(120_000);

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const CAROL = 'carol@im.wechat';
const DAVE = 'dave@im.wechat';

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function textOf(msg: { item_list?: Array<{ type?: number; text_item?: { text?: string } }> }): string {
  return (msg.item_list ?? []).filter((i) => i.type === 1).map((i) => i.text_item?.text ?? '').join('');
}

describe('WeChat iLink operations in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;
  // A: the published trigger with typing; B: the test listener; C: the action node.
  let botA: BotInfo;
  let botB: BotInfo;
  let botC: BotInfo;
  let credA: CredentialRef;
  let credB: CredentialRef;
  let credC: CredentialRef;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 30_000 });
    n8n = await startN8n({ customExtensionDirs: [path.join(projectRoot, 'dist')], name: 'n8n-operations' });
    const credential = (bot: BotInfo, name: string) => simulatorCredential(n8n, sim, bot, name);
    botA = sim.admin.createBot({ ownerUserId: 'owner-a@im.wechat' });
    botB = sim.admin.createBot({ ownerUserId: 'owner-b@im.wechat' });
    botC = sim.admin.createBot({ ownerUserId: 'owner-c@im.wechat' });
    credA = await credential(botA, 'bot A (typing trigger)');
    credB = await credential(botB, 'bot B (test listener)');
    credC = await credential(botC, 'bot C (actions)');
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  /** The test's own view of iLink: the typing ticket the server hands out for a user. */
  const ticketFor = async (bot: BotInfo, userId: string) => {
    const client = new ILinkClient({ token: bot.token, baseUrl: sim.apiBaseUrl, botId: bot.botId, cdnBaseUrl: sim.cdnBaseUrl });
    const answer = await client.transport.post<GetConfigResponse>('getConfig', { ilink_user_id: userId });
    return answer.typing_ticket as string;
  };
  const typingCalls = (bot: BotInfo, userId: string) =>
    sim.admin
      .requests({ endpoint: 'sendTyping', botId: bot.botId })
      .map((r) => ({ body: r.body as { ilink_user_id: string; typing_ticket: string; status: number }, time: r.time }))
      .filter((r) => r.body.ilink_user_id === userId)
      .map((r) => ({ status: r.body.status, ticket: r.body.typing_ticket, time: r.time }));
  const statuses = (calls: Array<{ status: number }>) => calls.map((c) => c.status).join('');
  const getConfigBodies = (bot: BotInfo, userId: string) =>
    sim.admin
      .requests({ endpoint: 'getConfig', botId: bot.botId })
      .map((r) => r.body as { ilink_user_id: string; context_token?: string })
      .filter((b) => b.ilink_user_id === userId);
  const notifications = (bot: BotInfo, kind: 'start' | 'stop') => sim.admin.notifications(bot.botId).filter((n) => n.kind === kind);
  const postJson = async (webhookPath: string, body: unknown) => {
    const answer = await n8n.callWebhook(webhookPath, body);
    if (answer.status !== 200) throw new Error(`webhook ${webhookPath} → ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body as Record<string, any>;
  };
  const publishWebhookWorkflow = async (workflow: Parameters<N8nInstance['createWorkflow']>[0], webhookPath: string) => {
    const created = await n8n.createWorkflow(workflow);
    await n8n.publishWorkflow(created.id);
    await n8n.waitForWebhookRegistered(webhookPath, true, 10_000);
    return created.id;
  };
  const execution = (id: string) => n8n.api<N8nExecution>('GET', `/executions/${id}?includeData=true`);
  const waitForFinished = (id: string) =>
    waitFor(`execution ${id} to finish`, async () => {
      const found = await execution(id);
      return ['new', 'running', 'waiting'].includes(found.status) ? undefined : found;
    });
  const firstJson = (exec: N8nExecution, nodeName: string) => exec.data.resultData.runData[nodeName][0].data.main[0][0].json;

  it('shows "typing…" to the sender while the workflow runs, and stops it when the run ends or fails', async () => {
    const workflow = await n8n.createWorkflow(typingTriggerWorkflow(credA, 1));
    await n8n.publishWorkflow(workflow.id);
    await waitFor('the trigger to poll', () => notifications(botA, 'start').length > 0);

    const injected = sim.admin.injectMessage({ botId: botA.botId, from: ALICE, text: 'slow job' });
    const reply = await sim.admin.waitForSent((r) => r.botId === botA.botId && textOf(r.msg) === 'done: slow job', 15_000);
    const [run] = await n8n.waitForExecutions(workflow.id, 1);
    expect(run.status).toBe('success');
    expect(firstJson(run, TRIGGER_NAME)).toMatchObject({ from: ALICE, text: 'slow job' });
    // The stop follows the end of the execution (n8n's workflowExecuteAfter hook).
    const calls = await waitFor('typing status 2', () => {
      const seen = typingCalls(botA, ALICE);
      return seen.some((c) => c.status === 2) && seen;
    });
    const ticket = await ticketFor(botA, ALICE);
    // "typing" (repeated every 5 s, so once unless the machine crawls), then one "cancel".
    expect(statuses(calls)).toMatch(/^1+2$/);
    expect(calls.every((c) => c.ticket === ticket)).toBe(true);
    // The ticket was asked for with the message's context token.
    expect(getConfigBodies(botA, ALICE)[0]).toMatchObject({ context_token: injected.contextToken });
    // "typing…" shown before the Wait node's second, hidden only after the reply went out.
    expect(reply.time - calls[0].time).toBeGreaterThanOrEqual(900);
    expect(calls[calls.length - 1].time).toBeGreaterThanOrEqual(reply.time);
    expect(sim.admin.typingState(botA.botId, ALICE)).toMatchObject({ typing: false, status: 2 });

    // A run that fails (empty reply text) must not leave "typing…" on.
    sim.admin.injectMessage({ botId: botA.botId, from: ALICE, text: 'fail' });
    const runs = await n8n.waitForExecutions(workflow.id, 2);
    expect(runs[0].status).toBe('error');
    expect(JSON.stringify(runs[0].data.resultData.error)).toMatch(/the reply text is empty/);
    const after = await waitFor('typing status 2 after the failed run', () => {
      const seen = typingCalls(botA, ALICE);
      return seen.filter((c) => c.status === 2).length === 2 && seen;
    });
    expect(statuses(after)).toMatch(/^1+21+2$/);
    expect(after.every((c) => c.ticket === ticket)).toBe(true);
    expect(sim.admin.sentMessages({ botId: botA.botId }).map((r) => textOf(r.msg))).toEqual(['done: slow job']);
    await n8n.unpublishWorkflow(workflow.id);
    await waitFor('the trigger to stop', () => notifications(botA, 'stop').length > 0);
  });

  it.each(['oneAtATime', 'parallel'] as const)('Processing "%s": a burst waits for each execution, or overlaps them', async (processing) => {
    const bot = sim.admin.createBot({ ownerUserId: `owner-${processing}@im.wechat` });
    const cred = await simulatorCredential(n8n, sim, bot, `bot (${processing})`);
    const workflow = await n8n.createWorkflow(processingWorkflow(cred, processing, 1));
    await n8n.publishWorkflow(workflow.id);
    await waitFor('the trigger to poll', () => notifications(bot, 'start').length > 0);
    const users = ['u1@im.wechat', 'u2@im.wechat', 'u3@im.wechat'];
    for (const user of users) sim.admin.injectMessage({ botId: bot.botId, from: user, text: `from ${user}` });
    const runs = (await n8n.waitForExecutions(workflow.id, users.length, 30_000)).filter((r) => r.status === 'success');
    expect(runs).toHaveLength(users.length);
    const spans = runs.map((r) => ({ start: Date.parse(String(r.startedAt)), stop: Date.parse(String(r.stoppedAt)) })).sort((a, b) => a.start - b.start);
    const overlaps = spans.filter((s, i) => i > 0 && s.start < spans[i - 1]!.stop).length;
    if (processing === 'oneAtATime') {
      // Each run starts after the previous one stopped, so the replies come in the order the users wrote.
      expect(overlaps).toBe(0);
      expect(sim.admin.sentMessages({ botId: bot.botId }).map((r) => r.to)).toEqual(users);
    } else {
      // All three were emitted at once and waited side by side.
      expect(overlaps).toBe(users.length - 1);
    }
    await n8n.unpublishWorkflow(workflow.id);
    await waitFor('the trigger to stop', () => notifications(bot, 'stop').length > 0);
  });

  it('"Listen for test event": started as the editor starts it, it can be cancelled, and it takes one message then stops polling', async () => {
    const workflow = await n8n.createWorkflow(manualTriggerWorkflow(credB));
    // The editor's "Execute workflow" on a trigger: POST /rest/workflows/:id/run with the trigger to start from.
    const listen = async () => {
      const started = await n8n.rest<{ data: { executionId?: string; waitingForWebhook?: boolean } }>('POST', `/workflows/${workflow.id}/run`, {
        triggerToStartFrom: { name: TRIGGER_NAME },
      });
      expect(started.data).toEqual({ executionId: expect.any(String) });
      return started.data.executionId as string;
    };

    // Cancelled in the editor (POST /rest/executions/:id/stop): polling ends at once, nothing runs.
    const cancelled = await listen();
    await waitFor('the test listener to poll', () => notifications(botB, 'start').length === 1);
    const t0 = Date.now();
    await n8n.rest('POST', `/executions/${cancelled}/stop`);
    await waitFor('notifystop after cancelling', () => notifications(botB, 'stop').length === 1, 5_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect((await waitForFinished(cancelled)).status).toBe('canceled');

    const executionId = await listen();
    await waitFor('the second test listener to poll', () => notifications(botB, 'start').length === 2);
    const injected = sim.admin.injectMessage({ botId: botB.botId, from: ALICE, text: 'ping' });
    const reply = await sim.admin.waitForSent((r) => r.botId === botB.botId && textOf(r.msg) === 'test: ping', 15_000);
    expect(reply.msg.context_token).toBe(injected.contextToken);
    const run = await waitForFinished(executionId);
    expect(run).toMatchObject({ mode: 'manual', status: 'success', workflowId: workflow.id });
    expect(firstJson(run, TRIGGER_NAME)).toMatchObject({ from: ALICE, text: 'ping', messageId: injected.messageId });
    expect(firstJson(run, 'Reply')).toMatchObject({ sent: true, to: ALICE, messageId: reply.messageId });

    // n8n calls closeFunction after the first event: the listener says goodbye and polls no more.
    await waitFor('notifystop after the test event', () => notifications(botB, 'stop').length === 2, 5_000);
    const polls = sim.admin.requests({ endpoint: 'getUpdates', botId: botB.botId }).length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sim.admin.requests({ endpoint: 'getUpdates', botId: botB.botId })).toHaveLength(polls);
    expect(sim.admin.sentMessages({ botId: botB.botId })).toHaveLength(1);

    // A new listen waits for a new message: the one already tested is not delivered again.
    const next = await listen();
    await waitFor('the third test listener to poll', () => notifications(botB, 'start').length === 3);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(['new', 'running']).toContain((await execution(next)).status);
    expect(sim.admin.sentMessages({ botId: botB.botId })).toHaveLength(1);
    sim.admin.injectMessage({ botId: botB.botId, from: ALICE, text: 'pong' });
    await sim.admin.waitForSent((r) => r.botId === botB.botId && textOf(r.msg) === 'test: pong', 15_000);
    expect(firstJson(await waitForFinished(next), TRIGGER_NAME)).toMatchObject({ text: 'pong' });
    expect(sim.admin.sentMessages({ botId: botB.botId }).map((r) => textOf(r.msg))).toEqual(['test: ping', 'test: pong']);
  });

  it('Recall (experimental): recalls the message a Send Text returned, and shows why an unknown ID fails', async () => {
    const { contextToken } = sim.admin.injectMessage({ botId: botC.botId, from: BOB, text: 'hello bot' });
    const workflowId = await publishWebhookWorkflow(sendThenRecallWorkflow(credC, 'send-recall'), 'send-recall');
    const answer = await postJson('send-recall', { to: BOB, contextToken, text: 'oops, wrong chat' });

    const sent = sim.admin.sentMessages({ botId: botC.botId, to: BOB }).find((r) => textOf(r.msg) === 'oops, wrong chat');
    expect(sent).toMatchObject({ recalled: true });
    // The uint64 ID (above 2^53) survives n8n's items and expressions, and goes back as a JSON number.
    expect(answer).toEqual({ recalled: true, messageId: sent!.messageId, experimental: true });
    const [recallRequest] = sim.admin.requests({ endpoint: 'recallMessage', botId: botC.botId });
    expect(recallRequest.rawBody).toContain(`"msg_id":${sent!.messageId}`);
    const [run] = await n8n.waitForExecutions(workflowId, 1);
    expect(firstJson(run, 'Send Text')).toMatchObject({ sent: true, to: BOB, messageId: sent!.messageId });

    await publishWebhookWorkflow(recallWorkflow(credC, 'recall'), 'recall');
    const unknown = await postJson('recall', { messageId: '9007199254740991' });
    expect(unknown.error).toMatch(/^recall failed \(experimental: iLink's recall endpoint is unverified\): .*message not found/);
    const notNumeric = await postJson('recall', { messageId: 'abc' });
    expect(notNumeric.error).toMatch(/recall needs the numeric server message ID returned by a send, got "abc"/);
    expect(sim.admin.requests({ endpoint: 'recallMessage', botId: botC.botId })).toHaveLength(2);
  });

  it('Media → Upload: returns a CDN reference that decrypts to the input and that a send can use', async () => {
    await publishWebhookWorkflow(uploadWorkflow(credC, 'upload'), 'upload');
    const { contextToken } = sim.admin.injectMessage({ botId: botC.botId, from: CAROL, text: 'send me the picture' });
    // Not text/plain: n8n's Webhook node parses that into the JSON body instead of a binary property.
    const files = [
      { fileName: 'qr.png', type: 'image/png', bytes: Buffer.from(await renderQrPng('uploaded through n8n')), mediaType: 1, itemType: 2 },
      { fileName: 'notes.txt', type: 'application/octet-stream', bytes: Buffer.from('plain notes, not an image\n'.repeat(40)), mediaType: 3, itemType: 4 },
    ];
    for (const file of files) {
      const sentBefore = sim.admin.sentMessages().length;
      const res = await fetch(`${n8n.url}/webhook/upload?to=${encodeURIComponent(CAROL)}`, {
        method: 'POST',
        headers: { 'Content-Type': file.type, 'Content-Disposition': `attachment; filename="${file.fileName}"` },
        body: file.bytes,
      });
      const uploaded = (await res.json()) as UploadedMedia & { uploaded: boolean; to: string };
      expect(res.status).toBe(200);
      const md5 = createHash('md5').update(file.bytes).digest('hex');
      expect(uploaded).toMatchObject({ uploaded: true, to: CAROL, fileName: file.fileName, mediaType: file.mediaType, plainSize: file.bytes.length, md5 });
      expect(uploaded.media.encryptQueryParam).toEqual(expect.any(String));
      // iLink was asked for an upload slot for this recipient and this file; nothing was sent.
      const slot = sim.admin.requests({ endpoint: 'getUploadUrl', botId: botC.botId }).pop()!.body;
      expect(slot).toMatchObject({ to_user_id: CAROL, rawsize: file.bytes.length, rawfilemd5: md5, media_type: file.mediaType });
      expect(sim.admin.sentMessages()).toHaveLength(sentBefore);

      // The bytes on the CDN decrypt to the input.
      const item = buildMediaItem(uploaded);
      const stored = await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, toItem(item));
      expect(stored.data.equals(file.bytes)).toBe(true);
      // The reference is sendable as is: the recipient gets the same file.
      const client = new ILinkClient({ token: botC.token, baseUrl: sim.apiBaseUrl, botId: botC.botId, cdnBaseUrl: sim.cdnBaseUrl });
      await client.send(CAROL, item, { contextToken });
      const delivered = await sim.admin.waitForSent((r) => r.index >= sentBefore && r.botId === botC.botId && r.to === CAROL, 5_000);
      const received = toMessage(delivered.msg);
      expect(received.items.map((i) => i.type)).toEqual([file.itemType === 2 ? 'image' : 'file']);
      expect((await downloadMedia({ cdnBaseUrl: sim.cdnBaseUrl }, received.items[0])).data.equals(file.bytes)).toBe(true);
    }
  });

  it('Typing → start / stop: shows and hides "typing…" with the user\'s ticket; says so when there is no ticket', async () => {
    await publishWebhookWorkflow(typingWorkflow(credC, 'typing-start', 'start'), 'typing-start');
    await publishWebhookWorkflow(typingWorkflow(credC, 'typing-stop', 'stop'), 'typing-stop');
    const { contextToken } = sim.admin.injectMessage({ botId: botC.botId, from: DAVE, text: 'are you there?' });
    const ticket = await ticketFor(botC, DAVE);

    expect(await postJson('typing-start', { userId: DAVE, contextToken })).toEqual({ typing: true, userId: DAVE });
    expect(sim.admin.typingState(botC.botId, DAVE)).toMatchObject({ typing: true, status: 1 });
    expect(typingCalls(botC, DAVE).map(({ status, ticket: t }) => ({ status, ticket: t }))).toEqual([{ status: 1, ticket }]);
    expect(getConfigBodies(botC, DAVE).at(-1)).toMatchObject({ context_token: contextToken });

    expect(await postJson('typing-stop', { userId: DAVE, contextToken })).toEqual({ typing: false, userId: DAVE, sent: true });
    expect(sim.admin.typingState(botC.botId, DAVE)).toMatchObject({ typing: false, status: 2 });
    expect(typingCalls(botC, DAVE).map(({ status, ticket: t }) => ({ status, ticket: t }))).toEqual([
      { status: 1, ticket },
      { status: 2, ticket },
    ]);

    // getconfig fails: no ticket, so nothing is sent and the item says why.
    sim.admin.injectFault({ endpoint: 'getConfig', kind: 'http5xx' });
    const noTicket = await postJson('typing-start', { userId: BOB, contextToken: '' });
    expect(noTicket).toMatchObject({ typing: false, userId: BOB, note: expect.stringMatching(/no typing ticket/) });
    expect(typingCalls(botC, BOB)).toEqual([]);
  });

  it('never puts a bot token in execution data or the n8n log', async () => {
    const all = await n8n.api<{ data: unknown[] }>('GET', '/executions?includeData=true&limit=250');
    expect(all.data.length).toBeGreaterThanOrEqual(10);
    const dump = JSON.stringify(all);
    for (const bot of [botA, botB, botC]) {
      expect(dump).not.toContain(bot.token);
      expect(n8n.logText()).not.toContain(bot.token);
    }
  });
});
