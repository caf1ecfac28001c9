/**
 * Sending on the real server's terms (§10), in a real n8n 2.41.1 (one
 * instance for the file) against the strict simulator:
 * - one state per bot for the whole n8n: a Webhook → Send Text workflow with a
 *   fixed user ID finds the context token and reply window of a user who wrote
 *   to another workflow's trigger, also after an n8n restart (read from the
 *   state file);
 * - the budget: the 11th message after one user message is refused before any
 *   request (with Continue On Fail the item carries the rule; without it the
 *   execution fails with a NodeOperationError naming the fix); the simulator
 *   gets 10;
 * - Contact → Get Reply Window, and the trigger's items, show the window;
 * - "When the Window Is Closed" → Queue: the sends wait in the outbox and go
 *   out, in order, when the user writes again (the trigger's poller sends them);
 * - "Window Closing Warning": an item of its own, only for allowed senders.
 * The 24 h window itself is the core tests' (on a manual clock): nothing here
 * waits for it.
 */
import * as path from 'node:path';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8n, type N8nExecution, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, sleep, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { replyWindowWorkflow, sendTextToWorkflow, triggerOnlyWorkflow } from './operations-workflows';
import type { CredentialRef } from './workflows';

jest.setTimeout(120_000);

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const DAY_MS = 24 * 60 * 60 * 1000;
const BUDGET_RULE = /^all 10 messages iLink allows per user message to alice@im\.wechat are used up: ask them to write to the bot again, or wait for their next message \(nothing was sent; to send it when they write, queue it instead\)$/;

describe('the reply window in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;
  let bot: BotInfo;
  let cred: CredentialRef;
  let triggerWorkflowId = '';
  let strictSendWorkflowId = '';

  const starts = (b: BotInfo) => sim.admin.notifications(b.botId).filter((n) => n.kind === 'start').length;
  const sentToAlice = () => sim.admin.sentMessages({ botId: bot.botId, to: ALICE });
  const post = async (webhookPath: string, body: unknown) => {
    const answer = await n8n.callWebhook(webhookPath, body);
    if (answer.status !== 200) throw new Error(`webhook ${webhookPath} → ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body as Record<string, any>;
  };
  const sendText = (text: string, whenClosed?: 'fail' | 'queue') => post('send-text', { text, whenClosed });
  const replyWindow = () => post('reply-window', { userId: ALICE });
  const publish = async (workflow: Parameters<N8nInstance['createWorkflow']>[0], webhookPath?: string) => {
    const created = await n8n.createWorkflow(workflow);
    await n8n.publishWorkflow(created.id);
    if (webhookPath) await n8n.waitForWebhookRegistered(webhookPath, true, 10_000);
    return created.id;
  };
  /** The trigger's items of workflow A so far, oldest first. */
  const triggerItems = async (workflowId = triggerWorkflowId) =>
    (await allExecutions(n8n, workflowId, true)).map((e: N8nExecution) => triggerItem(e)).filter((j): j is Record<string, any> => j !== undefined);
  /** ALICE writes; resolves once the trigger's execution for it exists (the state knows her new window then). */
  const aliceWrites = async (text: string) => {
    const before = (await triggerItems()).length;
    const injected = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text });
    const item = await waitFor(`the trigger's item for "${text}"`, async () => (await triggerItems()).slice(before).find((j) => j.text === text), 20_000, 200);
    return { ...injected, item };
  };

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 5_000 });
    n8n = await startN8n({ customExtensionDirs: [path.join(projectRoot, 'dist')], name: 'n8n-reply-window' });
    bot = sim.admin.createBot({ ownerUserId: 'owner-rw@im.wechat' });
    cred = await simulatorCredential(n8n, sim, bot, 'bot (reply window)');
    // A: receives. B: sends to a fixed user ID (continue on fail, and without). C: reads the window.
    triggerWorkflowId = await publish(triggerOnlyWorkflow(cred, 'A: receive'));
    await publish(sendTextToWorkflow(cred, 'send-text', ALICE, true), 'send-text');
    strictSendWorkflowId = await publish(sendTextToWorkflow(cred, 'send-text-strict', ALICE, false), 'send-text-strict');
    await publish(replyWindowWorkflow(cred, 'reply-window'), 'reply-window');
    await waitFor('the trigger to poll', () => starts(bot) > 0, 30_000);
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  it("the trigger's item carries the sender's reply window", async () => {
    const { item } = await aliceWrites('hello');
    expect(item).toMatchObject({ event: 'message', from: ALICE, text: 'hello' });
    expect(item.replyWindow).toEqual({
      userId: ALICE,
      open: true,
      known: true,
      sendsLeft: 10,
      closedBy: null,
      lastInboundAt: expect.any(String),
      lastInboundAtMs: expect.any(Number),
      closesAt: expect.any(String),
      closesAtMs: expect.any(Number),
      queued: 0,
    });
    const window = item.replyWindow;
    expect(window.closesAtMs - window.lastInboundAtMs).toBe(DAY_MS);
    expect(window.closesAt).toBe(new Date(window.closesAtMs).toISOString());
    expect(window.lastInboundAt).toBe(new Date(window.lastInboundAtMs).toISOString());
    // When she wrote, by the server's stamp.
    expect(window.lastInboundAtMs).toBeGreaterThanOrEqual(item.createTime);
    expect(window.lastInboundAtMs - item.createTime).toBeLessThan(5_000);
  });

  it("another workflow's Send Text (fixed user ID, no context token) uses the token and window the trigger recorded, also after an n8n restart", async () => {
    const token = (await triggerItems()).at(-1)!.contextToken as string;
    const answer = await sendText('from workflow B');
    const [sent] = sentToAlice();
    expect(textOf(sent.msg)).toBe('from workflow B');
    expect(sent.msg.context_token).toBe(token);
    expect(answer).toMatchObject({ sent: true, queued: false, to: ALICE, messageId: sent.messageId, replyWindow: { open: true, sendsLeft: 9, queued: 0 } });

    await n8n.restart();
    // The first node to need the bot in the new process reads its state from the file.
    const after = await n8n.waitForWebhook('send-text', { text: 'after the restart' }, 60_000);
    expect(after.status).toBe(200);
    const again = sentToAlice()[1];
    expect(textOf(again.msg)).toBe('after the restart');
    expect(again.msg.context_token).toBe(token);
    expect(after.body).toMatchObject({ sent: true, to: ALICE, replyWindow: { open: true, known: true, sendsLeft: 8 } });
    expect(await replyWindow()).toMatchObject({ userId: ALICE, open: true, known: true, sendsLeft: 8, queued: 0 });
    // The trigger is back (a published workflow reactivates by itself) for the next tests.
    await waitFor('the trigger to poll again after the restart', () => starts(bot) >= 2, 60_000);
  });

  it('the 11th message after one user message is refused before any request: the item (Continue On Fail) or the execution says which rule and what to do; the simulator got 10', async () => {
    const { contextToken } = await aliceWrites('write as much as you like');
    const sentBefore = sentToAlice().length;
    expect(await replyWindow()).toMatchObject({ open: true, sendsLeft: 10, closedBy: null });
    for (let i = 1; i <= 10; i++) {
      const answer = await sendText(`message ${i}`);
      expect(answer).toMatchObject({ sent: true, replyWindow: { sendsLeft: 10 - i } });
      if (i === 4) expect(await replyWindow()).toMatchObject({ open: true, sendsLeft: 6 });
    }
    const window = await replyWindow();
    expect(window).toMatchObject({ userId: ALICE, open: false, known: true, sendsLeft: 0, closedBy: 'budget', queued: 0 });

    const requestsBefore = sim.admin.requests({ endpoint: 'sendMessage', botId: bot.botId }).length;
    const eleventh = await sendText('message 11');
    expect(eleventh.error).toMatch(BUDGET_RULE);
    expect(eleventh.errorDescription).toMatch(/at most 10 bot messages per message the user sends.*"Queue Until the User Writes"/);
    expect(eleventh.replyWindow).toMatchObject({ open: false, sendsLeft: 0, closedBy: 'budget' });
    expect(eleventh).not.toHaveProperty('sent');

    // Without Continue On Fail: the execution fails with that message (a NodeOperationError, not an API error).
    const stopped = await n8n.callWebhook('send-text-strict', { text: 'message 12' });
    expect(stopped.status).toBeGreaterThanOrEqual(500);
    const [failed] = await n8n.waitForExecutions(strictSendWorkflowId, 1);
    expect(failed.status).toBe('error');
    const error = failed.data.resultData.error;
    expect(error.message).toMatch(BUDGET_RULE);
    expect(error.name).toBe('NodeOperationError');
    expect(error.description).toMatch(/Ask the user to write to the bot, or set "When the Window Is Closed" to "Queue Until the User Writes"/);

    // Refused before any request: 10 went out, all with her token.
    expect(sim.admin.requests({ endpoint: 'sendMessage', botId: bot.botId })).toHaveLength(requestsBefore);
    const sent = sentToAlice().slice(sentBefore);
    expect(sent.map((r) => textOf(r.msg))).toEqual(Array.from({ length: 10 }, (_, i) => `message ${i + 1}`));
    expect(sent.every((r) => r.msg.context_token === contextToken)).toBe(true);
  });

  it('"Queue Until the User Writes": the sends wait in the outbox and go out, in order, when the user writes again', async () => {
    const sentBefore = sentToAlice().length;
    const first = await sendText('queued 1', 'queue');
    expect(first).toMatchObject({ sent: false, queued: true, to: ALICE, outboxId: expect.stringMatching(/^[0-9a-f-]{36}$/), queuedMessages: 1 });
    expect(first.replyWindow).toMatchObject({ open: false, closedBy: 'budget', queued: 1 });
    const second = await sendText('queued 2', 'queue');
    expect(second).toMatchObject({ queued: true, replyWindow: { queued: 2 } });
    expect(second.outboxId).not.toBe(first.outboxId);
    expect(await replyWindow()).toMatchObject({ open: false, sendsLeft: 0, queued: 2 });
    expect(sentToAlice()).toHaveLength(sentBefore);

    // She writes: the trigger's poller sends the outbox first, with her new token, then emits her message.
    const { contextToken, item } = await aliceWrites('I am back');
    const delivered = await waitFor('the queued sends', () => {
      const sent = sentToAlice().slice(sentBefore);
      return sent.length >= 2 && sent;
    });
    expect(delivered.map((r) => textOf(r.msg))).toEqual(['queued 1', 'queued 2']);
    expect(delivered.every((r) => r.msg.context_token === contextToken)).toBe(true);
    expect(item.replyWindow).toMatchObject({ open: true, sendsLeft: 8, queued: 0 });
    expect(await replyWindow()).toMatchObject({ open: true, sendsLeft: 8, queued: 0, closedBy: null });
    await sleep(500);
    expect(sentToAlice().slice(sentBefore)).toHaveLength(2); // each once
  });

  it('"Window Closing Warning": an item { event: "windowClosing", userId, replyWindow } of its own, only for senders the trigger lets through', async () => {
    const warned = sim.admin.createBot({ ownerUserId: 'owner-warn@im.wechat' });
    const warnedCred = await simulatorCredential(n8n, sim, warned, 'bot (window closing)');
    // 1440 minutes before a 24 h window closes is when the user writes: the warning comes at once.
    const workflowId = await publish(
      triggerOnlyWorkflow(warnedCred, 'A2: window closing', { senders: 'list', allowList: ALICE, options: { windowClosingMinutes: 1440 } }),
    );
    await waitFor('the warning trigger to poll', () => starts(warned) > 0, 30_000);
    sim.admin.injectMessage({ botId: warned.botId, from: BOB, text: 'not on the list' });
    sim.admin.injectMessage({ botId: warned.botId, from: ALICE, text: 'on the list' });
    const items = await waitFor('a message and a warning', async () => {
      const found = await triggerItems(workflowId);
      return found.length >= 2 && found;
    });
    await sleep(1_000);
    const all = await triggerItems(workflowId);
    expect(all).toHaveLength(2);
    const message = all.find((j) => j.event === 'message');
    const warning = all.find((j) => j.event === 'windowClosing');
    expect(message).toMatchObject({ from: ALICE, text: 'on the list' });
    expect(warning).toEqual({ event: 'windowClosing', userId: ALICE, emittedAt: expect.any(String), replyWindow: expect.objectContaining({ userId: ALICE, open: true, known: true }) });
    expect(warning!.replyWindow.closesAtMs).toBe(message!.replyWindow.closesAtMs);
    expect(items.every((j) => j.userId !== BOB && j.from !== BOB)).toBe(true);
    await n8n.unpublishWorkflow(workflowId);
  });

  it('never puts a bot token in execution data or the n8n log', async () => {
    const all = await n8n.api<{ data: unknown[] }>('GET', '/executions?includeData=true&limit=250');
    const dump = JSON.stringify(all);
    expect(dump).not.toContain(bot.token);
    expect(n8n.logText()).not.toContain(bot.token);
  });
});
