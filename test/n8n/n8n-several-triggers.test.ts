/**
 * Several WeChat iLink Triggers on one bot (issue 14, item 3), in a real n8n
 * 2.41.1 (one instance for the file) against the strict simulator: the bot has
 * one poller in the n8n process, and every trigger on it, in an active workflow
 * or in "Listen for test event", gets the messages its own filter passes.
 */
import * as path from 'node:path';
import { renderQrPng } from '../../shared';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8n, type N8nExecution, type N8nInstance, type N8nWorkflowInput } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, sleep, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { replyingWorkflow } from './operations-workflows';
import type { CredentialRef } from './workflows';

jest.setTimeout(180_000);

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const CAROL = 'carol@im.wechat';
/** Where the extension is loaded from: another build (e.g. a worktree's dist) to check that these tests fail without the feature. */
const EXTENSION_DIR = process.env.WECHAT_ILINK_N8N_DIST ?? path.join(projectRoot, 'dist');

const ordersWorkflow = (ref: CredentialRef) => replyingWorkflow(ref, 'orders', { options: { textMatchMode: 'contains', textPattern: 'order' } });
const imagesWorkflow = (ref: CredentialRef) => replyingWorkflow(ref, 'images', { messageTypes: ['image'] });
const everythingWorkflow = (ref: CredentialRef, label: string) => replyingWorkflow(ref, label, {});

describe('several WeChat iLink Triggers on one bot in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 30_000 });
    n8n = await startN8n({ customExtensionDirs: [EXTENSION_DIR], name: 'n8n-several-triggers' });
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  const published: string[] = [];
  afterEach(async () => {
    for (const id of published.splice(0)) await n8n.unpublishWorkflow(id).catch(() => undefined);
  });

  async function publish(workflow: N8nWorkflowInput): Promise<string> {
    const { id } = await n8n.createWorkflow(workflow);
    await n8n.publishWorkflow(id);
    published.push(id);
    return id;
  }

  const starts = (bot: BotInfo) => sim.admin.notifications(bot.botId).filter((n) => n.kind === 'start').length;
  const stops = (bot: BotInfo) => sim.admin.notifications(bot.botId).filter((n) => n.kind === 'stop').length;
  const answers = (bot: BotInfo) => sim.admin.sentMessages({ botId: bot.botId }).map((r) => `${r.to} ${textOf(r.msg)}`);
  const texts = (executions: N8nExecution[]) => executions.map((e) => triggerItem(e)?.text);

  it('two active workflows with different filters each get exactly their messages, each answered once; a message matching neither starts nothing and is handled', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(n8n, sim, bot, 'shared bot');
    const orders = await publish(ordersWorkflow(credential));
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000);
    const images = await publish(imagesWorkflow(credential));
    const picture = Buffer.from(await renderQrPng('a picture'));
    const imageItem = await sim.cdn.encryptAndStore(picture, { kind: 'image', fileName: 'picture.png' });
    // n8n activates a published workflow in the background: send Carol's pictures until the second trigger has joined.
    for (let i = 1; (await allExecutions(n8n, images, false)).length === 0; i++) {
      if (i > 20) throw new Error('the images workflow received nothing');
      sim.admin.injectMessage({ botId: bot.botId, from: CAROL, items: [imageItem] });
      await sleep(1_000);
    }
    await sleep(1_000); // a picture still on its way
    const imageRunsBefore = (await allExecutions(n8n, images, false)).length;
    await waitFor('the answers to Carol', () => answers(bot).length === imageRunsBefore, 10_000);
    const carols = answers(bot).length;
    expect(await allExecutions(n8n, orders, false)).toHaveLength(0);

    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'one order of tea' });
    sim.admin.injectMessage({ botId: bot.botId, from: BOB, items: [imageItem] });
    const neither = sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'just saying hello' });
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'a second order' });

    const orderRuns = await n8n.waitForExecutions(orders, 2);
    const imageRuns = await n8n.waitForExecutions(images, imageRunsBefore + 1);
    await waitFor('both answers to orders', () => answers(bot).filter((a) => a.includes('orders: ')).length === 2);
    // Time for a wrong or repeated delivery to show up as an execution or an answer.
    await sleep(1_500);
    expect(texts(await allExecutions(n8n, orders, true))).toEqual(['one order of tea', 'a second order']);
    expect((await allExecutions(n8n, images, true)).map((e) => triggerItem(e)?.from).filter((from) => from !== CAROL)).toEqual([BOB]);
    expect([...orderRuns, ...imageRuns].every((e) => e.status === 'success')).toBe(true);
    const all = answers(bot).slice(carols);
    expect(all.filter((a) => a.includes(' orders: '))).toEqual([`${ALICE} orders: one order of tea`, `${ALICE} orders: a second order`]);
    expect(all.filter((a) => a.includes(' images: '))).toEqual([expect.stringMatching(new RegExp(`^${BOB} images: `))]);
    expect(all).toHaveLength(3);
    // One poller for both workflows, never refused nor restarted.
    expect(starts(bot)).toBe(1);
    expect(n8n.logText()).not.toContain('another receiver is already polling');

    // Handled although nobody took it: once both are gone, a catch-all workflow does not get it from the inbox.
    for (const id of published.splice(0)) await n8n.unpublishWorkflow(id);
    await waitFor('the poller to stop with the last trigger', () => stops(bot) === 1, 5_000);
    const everything = await publish(everythingWorkflow(credential, 'all'));
    await waitFor('the bot to be polled again', () => starts(bot) === 2, 30_000);
    sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'after the switch' });
    await n8n.waitForExecutions(everything, 1);
    await sleep(1_500);
    expect(texts(await allExecutions(n8n, everything, true))).toEqual(['after the switch']);
    expect(answers(bot).filter((a) => a.includes(neither.messageId) || a.includes('hello'))).toEqual([]);
  });

  it('"Listen for test event" on the bot of an active workflow takes a message that the active workflow also gets; both answer, and the workflow stays active', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(n8n, sim, bot, 'bot with a test listen');
    const orders = await publish(ordersWorkflow(credential));
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000);
    const listener = await n8n.createWorkflow(everythingWorkflow(credential, 'test'));
    // The editor's "Listen for test event": POST /rest/workflows/:id/run with the trigger to start from.
    const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/workflows/${listener.id}/run`, {
      triggerToStartFrom: { name: 'WeChat iLink Trigger' },
    });
    const executionId = started.data.executionId as string;
    expect(executionId).toEqual(expect.any(String));
    const execution = () => n8n.api<N8nExecution>('GET', `/executions/${executionId}?includeData=true`);

    // Nothing outside says when the listen has joined the poller: write until it has taken a message.
    let finished: N8nExecution | undefined;
    for (let i = 1; !finished; i++) {
      if (i > 20) throw new Error('the test listen took no message');
      sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: `order ${i}` });
      await sleep(1_000);
      const found = await execution();
      if (!['new', 'running', 'waiting'].includes(found.status)) finished = found;
    }
    expect(finished).toMatchObject({ mode: 'manual', status: 'success' });
    const tested = triggerItem(finished)?.text as string;
    await waitFor('the test answer', () => answers(bot).includes(`${ALICE} test: ${tested}`), 10_000);
    // The active workflow got that message too, and answered it.
    await waitFor('the active answer to the tested message', () => answers(bot).includes(`${ALICE} orders: ${tested}`), 10_000);
    expect(answers(bot).filter((a) => a.startsWith(`${ALICE} test: `))).toEqual([`${ALICE} test: ${tested}`]);

    // The listen has ended (n8n closed it); the active workflow goes on polling, on the same poller.
    const before = (await allExecutions(n8n, orders, false)).length;
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'order after the test' });
    await waitFor('the active answer after the test', () => answers(bot).includes(`${ALICE} orders: order after the test`), 15_000);
    await n8n.waitForExecutions(orders, before + 1);
    expect(starts(bot)).toBe(1);
    expect(stops(bot)).toBe(0);
    expect(answers(bot).filter((a) => a.startsWith(`${ALICE} test: `))).toHaveLength(1);
  });
});
