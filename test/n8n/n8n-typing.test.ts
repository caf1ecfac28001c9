/**
 * When the trigger's "typing…" ends (issue 16, item 3), in a real n8n 2.41.1
 * (one instance for the file) against the strict simulator:
 * - a Reply ends it at once, while the rest of the workflow (a Wait) still
 *   runs: no keepalive after the answer, and the execution's end sends nothing more;
 * - a failing execution ends it as soon as n8n reports the failure, not after
 *   the trigger's 120 s limit;
 * - deactivating the workflow ends it while its execution still runs.
 * Each test has its own bot, user and workflow, so any of them runs alone with -t.
 * Times compared: the simulator's arrival time of each request and n8n's own
 * stamps (stoppedAt, a node's startTime), one clock on one machine.
 */
import * as path from 'node:path';
import { replyThenWaitWorkflow } from './operations-workflows';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8n, type N8nExecution, type N8nInstance, type N8nWorkflowInput } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { simulatorCredential, sleep, waitFor } from './n8n-fault-helpers';
import { ACTION_TYPE, CREDENTIAL_TYPE, TRIGGER_TYPE, type CredentialRef } from './workflows';

jest.setTimeout(120_000);

/** The trigger's keepalive repeats "typing" this often (shared/typing.ts). */
const KEEPALIVE_MS = 5_000;
/** How long after the event (execution end, deactivation) "typing…" must be gone at the latest. */
const PROMPT_MS = 3_000;
/** Where the extension is loaded from: another build (e.g. a worktree's dist) to check that these tests fail without the feature. */
const EXTENSION_DIR = process.env.WECHAT_ILINK_N8N_DIST ?? path.join(projectRoot, 'dist');

// ---- workflows ----

let counter = 0;
const uuid = () => `7e57ca5e-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
type Node = Record<string, unknown>;

function node(name: string, type: string, typeVersion: number, x: number, parameters: Record<string, unknown>, extra: Node = {}): Node {
  return { id: uuid(), name, type, typeVersion, position: [x, 0], parameters, ...extra };
}
const credentials = (ref: CredentialRef) => ({ [CREDENTIAL_TYPE]: { id: ref.id, name: ref.name } });
const typingTrigger = (ref: CredentialRef) =>
  node('WeChat iLink Trigger', TRIGGER_TYPE, 1, 0, { senders: 'everyone', options: { typingIndicator: true } }, { credentials: credentials(ref) });
const wait = (x: number, seconds: number) => node('Wait', 'n8n-nodes-base.wait', 1.1, x, { resume: 'timeInterval', amount: seconds, unit: 'seconds' }, { webhookId: uuid() });

function chain(name: string, nodes: Node[]): N8nWorkflowInput {
  const connections: Record<string, unknown> = {};
  for (let i = 0; i + 1 < nodes.length; i++) connections[nodes[i].name as string] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
  return { name, nodes, connections };
}

/** Trigger (typing) → Stop and Error: every execution fails, nothing is sent. */
const failingWorkflow = (ref: CredentialRef) =>
  chain('typing: the workflow fails', [typingTrigger(ref), node('Stop and Error', 'n8n-nodes-base.stopAndError', 1, 220, { errorType: 'errorMessage', errorMessage: 'the workflow failed on purpose' })]);

/** Trigger (typing) → Wait: an execution that outlasts a deactivation. */
const longRunWorkflow = (ref: CredentialRef, waitSeconds: number) => chain('typing: a long run', [typingTrigger(ref), wait(220, waitSeconds)]);

// ---- the suite ----

describe('the trigger\'s "typing…" ends with the answer in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 5_000 });
    n8n = await startN8n({ customExtensionDirs: [EXTENSION_DIR], name: 'n8n-typing' });
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  /** The sendtyping requests for one user, oldest first: status 1 = typing, 2 = cancel. */
  const typingCalls = (bot: BotInfo, userId: string) =>
    sim.admin
      .requests({ endpoint: 'sendTyping', botId: bot.botId })
      .map((r) => ({ body: r.body as { ilink_user_id: string; status: number }, time: r.time }))
      .filter((r) => r.body.ilink_user_id === userId)
      .map((r) => ({ status: r.body.status, time: r.time }));
  const statuses = (calls: Array<{ status: number }>) => calls.map((c) => c.status).join('');
  const firstCancel = (bot: BotInfo, userId: string) => typingCalls(bot, userId).find((c) => c.status === 2);
  const sendMessageTimes = (bot: BotInfo, userId: string) =>
    sim.admin
      .requests({ endpoint: 'sendMessage', botId: bot.botId })
      .filter((r) => (r.body as { msg?: { to_user_id?: string } }).msg?.to_user_id === userId)
      .map((r) => r.time);

  /** A bot of its own with a published workflow whose trigger polls. */
  const publishedFor = async (owner: string, build: (ref: CredentialRef) => N8nWorkflowInput) => {
    const bot = sim.admin.createBot({ ownerUserId: owner });
    const cred = await simulatorCredential(n8n, sim, bot, `bot (${owner})`);
    const workflow = await n8n.createWorkflow(build(cred));
    await n8n.publishWorkflow(workflow.id);
    await waitFor('the trigger to poll', () => sim.admin.notifications(bot.botId).some((n) => n.kind === 'start'), 30_000);
    return { bot, workflowId: workflow.id };
  };
  /** The workflow's one execution while it runs (the public API lists running ones only when asked for that status). */
  const runningExecution = (workflowId: string) =>
    waitFor(
      'the execution to start',
      async () => (await n8n.api<{ data: N8nExecution[] }>('GET', `/executions?workflowId=${encodeURIComponent(workflowId)}&status=running`)).data[0],
      20_000,
      100,
    );
  const executionStatus = async (id: string) => (await n8n.api<N8nExecution>('GET', `/executions/${id}`)).status;
  const stoppedAtOf = (execution: N8nExecution) => Date.parse(execution.stoppedAt as string);

  it('a Reply ends "typing…" at once, while the rest of the workflow still runs; no keepalive follows the answer', async () => {
    const user = 'reply-user@im.wechat';
    const waitSeconds = 6; // longer than the keepalive period: a typing that outlived the reply would repeat in it
    const { bot, workflowId } = await publishedFor('owner-typing-reply@im.wechat', (ref) => replyThenWaitWorkflow(ref, waitSeconds));

    sim.admin.injectMessage({ botId: bot.botId, from: user, text: 'quick answer' });
    const running = await runningExecution(workflowId);
    const [replyAt] = await waitFor('the reply', () => sendMessageTimes(bot, user).length > 0 && sendMessageTimes(bot, user), 20_000);
    const cancel = await waitFor('typing status 2', () => firstCancel(bot, user), 20_000);
    // Seen by n8n itself: the execution is still in its Wait when "typing…" is already off.
    expect(await executionStatus(running.id)).toBe('running');
    expect(sim.admin.typingState(bot.botId, user)).toMatchObject({ typing: false, status: 2 });

    const [run] = await n8n.waitForExecutions(workflowId, 1, 30_000);
    expect(run.id).toBe(running.id);
    expect(run.status).toBe('success');
    const waitRun = run.data.resultData.runData.Wait[0] as { startTime: number; executionTime: number };
    // After the answer went out, promptly, and long before the Wait (and so the execution) ended.
    expect(cancel.time).toBeGreaterThanOrEqual(replyAt);
    expect(cancel.time - replyAt).toBeLessThan(1_000);
    expect(waitRun.startTime + waitRun.executionTime - cancel.time).toBeGreaterThan(waitSeconds * 1000 - PROMPT_MS);
    expect(stoppedAtOf(run) - cancel.time).toBeGreaterThan(waitSeconds * 1000 - PROMPT_MS);

    // Well after the execution's end (which finds nothing left to stop): "typing" only before the
    // answer, one "cancel", no keepalive after it.
    await sleep(1_000);
    const calls = typingCalls(bot, user);
    expect(statuses(calls)).toMatch(/^1+2$/);
    expect(calls.filter((c) => c.status === 1).every((c) => c.time <= replyAt)).toBe(true);
    expect(Date.now() - replyAt).toBeGreaterThan(KEEPALIVE_MS);
    expect(sim.admin.typingState(bot.botId, user)).toMatchObject({ typing: false, status: 2 });
    await n8n.unpublishWorkflow(workflowId);
  });

  it('a failing execution ends "typing…" within seconds of its end, not at the 120 s limit', async () => {
    const user = 'fail-user@im.wechat';
    const { bot, workflowId } = await publishedFor('owner-typing-fail@im.wechat', failingWorkflow);

    sim.admin.injectMessage({ botId: bot.botId, from: user, text: 'this will fail' });
    const [run] = await n8n.waitForExecutions(workflowId, 1, 30_000);
    expect(run.status).toBe('error');
    expect(run.data.resultData.error.message).toBe('the workflow failed on purpose');
    const cancel = await waitFor('typing status 2 after the failed execution', () => firstCancel(bot, user), 10_000);
    // n8n reports the end after it stamps stoppedAt; the cancel follows that report.
    expect(cancel.time - stoppedAtOf(run)).toBeLessThanOrEqual(PROMPT_MS);

    await sleep(1_000);
    expect(statuses(typingCalls(bot, user))).toMatch(/^1+2$/);
    expect(sim.admin.typingState(bot.botId, user)).toMatchObject({ typing: false, status: 2 });
    expect(sendMessageTimes(bot, user)).toEqual([]);
    await n8n.unpublishWorkflow(workflowId);
  });

  it('deactivating the workflow ends "typing…" while its execution still runs', async () => {
    const user = 'deactivate-user@im.wechat';
    const waitSeconds = 12;
    const { bot, workflowId } = await publishedFor('owner-typing-deactivate@im.wechat', (ref) => longRunWorkflow(ref, waitSeconds));

    sim.admin.injectMessage({ botId: bot.botId, from: user, text: 'take your time' });
    const running = await runningExecution(workflowId);
    await waitFor('typing status 1', () => typingCalls(bot, user).some((c) => c.status === 1), 10_000);
    const deactivatedAt = Date.now();
    await n8n.unpublishWorkflow(workflowId);
    const cancel = await waitFor('typing status 2 after the deactivation', () => firstCancel(bot, user), 10_000);
    expect(cancel.time - deactivatedAt).toBeLessThanOrEqual(PROMPT_MS);
    // Not the execution's end: it is still in its Wait.
    expect(await executionStatus(running.id)).toBe('running');
    expect(sim.admin.typingState(bot.botId, user)).toMatchObject({ typing: false, status: 2 });

    // The execution goes on to its end; nothing turns "typing…" on again, nor cancels it twice.
    const [run] = await n8n.waitForExecutions(workflowId, 1, (waitSeconds + 20) * 1000);
    expect(run.id).toBe(running.id);
    expect(stoppedAtOf(run)).toBeGreaterThan(cancel.time);
    await sleep(1_000);
    expect(statuses(typingCalls(bot, user))).toMatch(/^1+2$/);
  });
});
