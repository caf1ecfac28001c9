/**
 * n8n queue mode (issue 14): a real n8n 2.41.1 main + workers
 * (EXECUTIONS_MODE=queue) over a throwaway Postgres and Redis, against the
 * strict simulator, which does not replay delivered messages (as the real
 * server, §10). The trigger polls on main; the Reply and Send Text nodes run
 * on the workers, each with its own user folder: what they know of the bot
 * (context tokens, reply windows, budgets, outbox) comes from Redis alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import { renderQrPng } from '../../shared';
import { RedisStateStore } from '../../shared/redis-store';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8nQueue, type N8nQueueStack } from '../harness/n8n-queue';
import type { N8nExecution, N8nWorkflowInput } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, sleep, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { action, chain, node, replyingWorkflow, replyThenWaitWorkflow, replyToTrigger, sendTextToWorkflow, TRIGGER_NAME, triggerNode } from './operations-workflows';

jest.setTimeout(600_000);

const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const EXTENSION_DIR = process.env.WECHAT_ILINK_N8N_DIST ?? path.join(projectRoot, 'dist');

describe('WeChat iLink in n8n queue mode (main + workers, Postgres, Redis)', () => {
  let sim: Simulator;
  let stack: N8nQueueStack;
  const published: string[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 30_000 });
    stack = await startN8nQueue({
      customExtensionDirs: [EXTENSION_DIR],
      workers: 1,
      name: 'n8n-queue-mode',
      env: {
        N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '1000',
        // A killed worker's job is found stalled within seconds (defaults: 60 s lock, 30 s check); n8n never runs a stalled job again.
        QUEUE_WORKER_LOCK_DURATION: '5000',
        QUEUE_WORKER_LOCK_RENEW_TIME: '2000',
        QUEUE_WORKER_STALLED_INTERVAL: '3000',
      },
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await sim?.stop();
  });

  afterEach(async () => {
    for (const id of published.splice(0)) await stack.main.unpublishWorkflow(id).catch(() => undefined);
  });

  async function publish(workflow: N8nWorkflowInput): Promise<string> {
    const { id } = await stack.main.createWorkflow(workflow);
    await stack.main.publishWorkflow(id);
    published.push(id);
    return id;
  }

  /** The bot's state in Redis now: the message IDs waiting in its inbox, and those marked handled. */
  async function storedMessages(botId: string): Promise<{ inbox: string[]; handled: Set<string> }> {
    const redis = new Redis({ host: stack.redis.host, port: stack.redis.port, maxRetriesPerRequest: 1 });
    try {
      const state = (await RedisStateStore.open({ redis, botKey: botId })).load();
      return { inbox: (state?.inbox ?? []).map((entry) => entry.key), handled: new Set(state?.seenMessageIds ?? []) };
    } finally {
      redis.disconnect();
    }
  }

  const starts = (bot: BotInfo) => sim.admin.notifications(bot.botId).filter((n) => n.kind === 'start').length;
  const answers = (bot: BotInfo, to?: string) => sim.admin.sentMessages({ botId: bot.botId, ...(to ? { to } : {}) }).map((r) => textOf(r.msg));
  const ranOnWorkers = (executions: N8nExecution[]) => executions.every((e) => stack.workerThatRan(String(e.id)) !== undefined);
  const failWith = (error: Error) => {
    throw new Error(`${error.message}\n${stack.logTails(25)}`);
  };

  it('trigger on main, Reply on the worker with the context token main received; a webhook workflow then sends to that user from the worker, on the same budget', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot');
    const replying = await publish(replyingWorkflow(credential, 'echo', {}));
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);

    const hello = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'hello from alice' });
    const [execution] = await stack.main.waitForExecutions(replying, 1, 30_000).catch(failWith);
    await waitFor('the reply', () => answers(bot, ALICE).length === 1).catch(failWith);
    expect(answers(bot, ALICE)).toEqual(['echo: hello from alice']);
    expect(stack.workerThatRan(String(execution.id))?.index).toBe(1);
    const [reply] = sim.admin.sentMessages({ botId: bot.botId, to: ALICE });
    expect(reply.msg.context_token).toBe(hello.contextToken);

    // The worker has no state file: it works from Redis alone.
    const workerFolder = path.join(path.dirname(stack.workers[0].logFile), 'user');
    expect(fs.existsSync(path.join(workerFolder, '.n8n', 'wechat-ilink'))).toBe(false);

    const sender = await publish(sendTextToWorkflow(credential, 'queue-send', ALICE, false));
    await stack.main.waitForWebhookRegistered('queue-send', true, 20_000);
    const answer = await stack.main.callWebhook('queue-send', { text: 'a note from a webhook' });
    expect(answer.status).toBe(200);
    await waitFor('the webhook send', () => answers(bot, ALICE).length === 2);
    expect(answers(bot, ALICE)).toEqual(['echo: hello from alice', 'a note from a webhook']);
    expect(ranOnWorkers(await allExecutions(stack.main, sender, false))).toBe(true);

    // Two of ten spent (one by each workflow): eight more, then the 11th fails before any request.
    for (let i = 3; i <= 10; i++) expect((await stack.main.callWebhook('queue-send', { text: `note ${i}` })).status).toBe(200);
    const requestsBefore = sim.admin.requests({ endpoint: 'sendMessage' }).length;
    const refused = await stack.main.callWebhook('queue-send', { text: 'note 11' });
    expect(refused.status).not.toBe(200);
    expect(sim.admin.requests({ endpoint: 'sendMessage' }).length).toBe(requestsBefore);
    const runs = await allExecutions(stack.main, sender, true);
    expect(runs[runs.length - 1].data?.resultData?.error?.message).toMatch(/all 10 messages iLink allows per user message to alice@im\.wechat are used up/);
    // Queued instead, from the worker: main sends it when Alice writes again, before the new reply.
    expect((await stack.main.callWebhook('queue-send', { text: 'waited for you', whenClosed: 'queue' })).status).toBe(200);
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'me again' });
    await waitFor('the queued note and the reply', () => answers(bot, ALICE).length === 12).catch(failWith);
    expect(answers(bot, ALICE).slice(10)).toEqual(['waited for you', 'echo: me again']);
  });

  it('two triggers on one bot with different filters: each workflow gets its own messages, answered on the worker', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot with two workflows');
    const orders = await publish(replyingWorkflow(credential, 'orders', { options: { textMatchMode: 'contains', textPattern: 'order' } }));
    const greetings = await publish(replyingWorkflow(credential, 'greetings', { options: { textMatchMode: 'contains', textPattern: 'hello' } }));
    // Published workflows join in the background: probe until both answer.
    await waitFor('the bot to be polled', () => starts(bot) >= 1, 30_000).catch(failWith);
    for (let i = 1; answers(bot, BOB).length === 0; i++) {
      if (i > 30) throw new Error(`the greetings workflow answered nothing\n${stack.logTails()}`);
      sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: `hello ${i}` });
      await sleep(1_000);
    }
    await sleep(1_500);
    const greeted = answers(bot, BOB).length;

    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'an order of tea' });
    sim.admin.injectMessage({ botId: bot.botId, from: BOB, text: 'hello there' });
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'neither of the two' });
    await waitFor('both answers', () => answers(bot, ALICE).length === 1 && answers(bot, BOB).length === greeted + 1, 30_000).catch(failWith);
    await sleep(1_500);
    expect(answers(bot, ALICE)).toEqual(['orders: an order of tea']);
    expect(answers(bot, BOB).slice(greeted)).toEqual(['greetings: hello there']);
    const orderRuns = await allExecutions(stack.main, orders, true);
    expect(orderRuns.map((e) => triggerItem(e)?.text)).toEqual(['an order of tea']);
    expect(ranOnWorkers([...orderRuns, ...(await allExecutions(stack.main, greetings, false))])).toBe(true);
    expect(starts(bot)).toBe(1);
  });

  it('Typing and Download Media run on the worker: typing finds the user\'s context token in Redis, the download reads the CDN', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot with media');
    const workflow = await publish(
      chain('queue media and typing', [
        triggerNode(credential, { messageTypes: ['image'] }),
        action(credential, 'Download', 220, { resource: 'media', operation: 'download', binaryPropertyName: 'data' }),
        // No context token given: the worker must know it from the state main wrote.
        action(credential, 'Typing', 440, { resource: 'typing', operation: 'start', userId: `={{ $('${TRIGGER_NAME}').item.json.from }}`, contextToken: '' }),
        replyToTrigger(credential, 660, '={{ "typing " + $json.typing + ", got " + $("Download").item.json.media.size + " bytes" }}'),
      ]),
    );
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);
    const picture = Buffer.from(await renderQrPng('a picture for the worker'));
    const imageItem = await sim.cdn.encryptAndStore(picture, { kind: 'image', fileName: 'picture.png' });
    const picturePosted = sim.admin.injectMessage({ botId: bot.botId, from: ALICE, items: [imageItem] });
    const [execution] = await stack.main.waitForExecutions(workflow, 1, 30_000).catch(failWith);
    expect({ status: execution.status, error: execution.data?.resultData?.error?.message }).toEqual({ status: 'success', error: undefined });
    expect(stack.workerThatRan(String(execution.id))).toBeDefined();
    await waitFor('the reply', () => answers(bot, ALICE).length === 1);
    expect(answers(bot, ALICE)).toEqual([expect.stringMatching(new RegExp(`^typing true, got ${picture.length} bytes$`))]);
    expect(sim.admin.typingState(bot.botId, ALICE).status).toBeDefined();
    // The typing ticket was asked for with Alice's context token, which only Redis could have given the worker.
    const configs = sim.admin.requests({ endpoint: 'getConfig' }).filter((r) => (r.body as { ilink_user_id?: string }).ilink_user_id === ALICE);
    expect(configs.map((r) => (r.body as { context_token?: string }).context_token)).toEqual([picturePosted.contextToken]);
  });

  it('a file the trigger downloads on main is read by the worker (binary data mode `database`)', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot with downloads');
    const workflow = await publish(
      chain('queue trigger download', [
        triggerNode(credential, { messageTypes: ['file'], options: { downloadMedia: true } }),
        node('Extract', 'n8n-nodes-base.extractFromFile', 1, 220, { operation: 'text', binaryPropertyName: 'data', destinationKey: 'content' }),
        replyToTrigger(credential, 440, '={{ "read: " + $json.content }}'),
      ]),
    );
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);
    const fileItem = await sim.cdn.encryptAndStore(Buffer.from('订单 42：两杯茶'), { kind: 'file', fileName: 'order.txt' });
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, items: [fileItem] });
    const [execution] = await stack.main.waitForExecutions(workflow, 1, 30_000).catch(failWith);
    expect({ status: execution.status, error: execution.data?.resultData?.error?.message }).toEqual({ status: 'success', error: undefined });
    expect(stack.workerThatRan(String(execution.id))).toBeDefined();
    expect(triggerItem(execution)).toBeDefined();
    expect(execution.data.resultData.runData[TRIGGER_NAME][0].data.main[0][0].binary.data.id).toMatch(/^database:/);
    await waitFor('the reply', () => answers(bot, ALICE).length === 1);
    expect(answers(bot, ALICE)).toEqual(['read: 订单 42：两杯茶']);
  });

  it('"typing…" the trigger shows on main ends within one 5 s refresh after the Reply on the worker, long before the execution ends', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot typing');
    const workflow = await publish(replyThenWaitWorkflow(credential, 12));
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);
    sim.admin.injectMessage({ botId: bot.botId, from: ALICE, text: 'think' });
    const typing = () => sim.admin.requests({ endpoint: 'sendTyping', botId: bot.botId }).map((r) => ({ status: (r.body as { status?: number }).status, time: r.time }));
    const replyAt = (await waitFor('the reply', () => sim.admin.requests({ endpoint: 'sendMessage', botId: bot.botId })[0], 30_000).catch(failWith)).time;
    const cancel = await waitFor('typing status 2', () => typing().find((t) => t.status === 2), 15_000).catch(failWith);
    const [run] = await stack.main.waitForExecutions(workflow, 1, 30_000).catch(failWith);
    expect(run.status).toBe('success');
    expect(cancel.time - replyAt).toBeLessThan(5_000 + 1_500);
    expect(Date.parse(String(run.stoppedAt)) - cancel.time).toBeGreaterThan(5_000);
    // No keepalive after the cancel.
    expect(typing().filter((t) => t.time > cancel.time)).toEqual([]);
  });

  it('"One at a Time" holds across the queue: three users at once, and the executions on the worker never overlap', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot one at a time');
    const workflow = await publish(
      chain('queue one at a time', [
        triggerNode(credential),
        node('Wait', 'n8n-nodes-base.wait', 1.1, 220, { resume: 'timeInterval', amount: 1, unit: 'seconds' }, { webhookId: 'd0000000-0000-4000-8000-0000000000aa' }),
        replyToTrigger(credential, 440, '=done'),
      ]),
    );
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);
    for (const user of ['a@im.wechat', 'b@im.wechat', 'c@im.wechat']) sim.admin.injectMessage({ botId: bot.botId, from: user, text: 'go' });
    await waitFor('three answers', () => answers(bot).length === 3, 60_000).catch(failWith);
    const runs = (await stack.main.waitForExecutions(workflow, 3, 30_000)).sort((a, b) => Date.parse(String(a.startedAt)) - Date.parse(String(b.startedAt)));
    expect(ranOnWorkers(runs)).toBe(true);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(String(runs[i].startedAt))).toBeGreaterThanOrEqual(Date.parse(String(runs[i - 1].stoppedAt)));
  });

  it('SIGKILL of the worker mid-stream, then of main: no message answered twice, each user in order, at most the running one lost per kill', async () => {
    const bot = sim.admin.createBot();
    const credential = await simulatorCredential(stack.main, sim, bot, 'queue bot under kills');
    const workflow = await publish(replyingWorkflow(credential, 'got', {}));
    await waitFor('the bot to be polled', () => starts(bot) === 1, 30_000).catch(failWith);

    const users = ['u1@im.wechat', 'u2@im.wechat', 'u3@im.wechat'];
    const written: string[] = [];
    const textOfId = new Map<string, string>();
    // Which getupdates answer (numbered) carried each message, as the simulator wrote them out.
    const answerOf = new Map<string, number>();
    const answerTimes: number[] = [];
    const unsubscribe = sim.admin.onDelivered((delivery) => {
      if (delivery.botId !== bot.botId) return;
      answerTimes.push(delivery.time);
      for (const id of delivery.messageIds) answerOf.set(id, answerTimes.length);
    });
    let stopWriting = false;
    // Each user writes one message every ~600 ms (about 5 msg/s, well under the queue's One at a Time rate on a loaded 2-core CI machine), throughout both kills and restarts.
    const writing = (async () => {
      for (let n = 1; !stopWriting; n++) {
        for (const user of users) {
          const text = `${user.slice(0, 2)}-${n}`;
          const { messageId } = sim.admin.injectMessage({ botId: bot.botId, from: user, text });
          textOfId.set(messageId, text);
          written.push(text);
        }
        await sleep(600);
      }
    })();
    const answered = () => sim.admin.sentMessages({ botId: bot.botId }).length;
    /** The texts the bot has answered so far (each reply is "got: <text>"). */
    const answeredTexts = () => new Set(answers(bot).map((text) => text.replace(/^got: /, '')));

    await waitFor('some answers', () => answered() >= 6, 60_000).catch(failWith);
    const [worker] = stack.workers;
    await worker.kill();
    const atWorkerKill = answered();
    await sleep(2_000);
    await worker.start();
    await waitFor('answers after the worker restart', () => answered() >= atWorkerKill + 6, 90_000).catch(failWith);

    await stack.main.kill();
    const atMainKill = answered();
    // Delivered by the server and nowhere in the bot's state: the answer was in the socket of the
    // killed main, not yet read. A killed process's sockets stay open while the kernel frees its
    // memory (~0.1 s for a process of n8n's size), so a message written then goes to no one. No
    // client keeps what it has not received, and without replay (§10) it is gone: at most the one
    // answer in flight.
    const answeredAtKill = answeredTexts();
    const atKill = await storedMessages(bot.botId);
    const inTransit = [...answerOf.keys()].filter((id) => !atKill.inbox.includes(id) && !atKill.handled.has(id) && !answeredAtKill.has(textOfId.get(id) ?? ''));
    const inTransitTexts = new Set(inTransit.map((id) => textOfId.get(id)));
    // Fetched by the killed main and not yet handled: the restarted main handles them first.
    const leftAtKill = atKill.inbox.map((id) => textOfId.get(id));
    expect(new Set(inTransit.map((id) => answerOf.get(id))).size).toBeLessThanOrEqual(1);
    await sleep(1_000);
    await stack.main.restart();
    await waitFor('answers after the main restart', () => answered() >= atMainKill + 6, 90_000).catch(failWith);
    stopWriting = true;
    await writing;

    // Everything written is answered, except at most one message per kill and what was in transit.
    await waitFor('the stream to drain', () => answered() >= written.length - 2 - inTransit.length, 300_000).catch(async (error: Error) => {
      // What the stall looked like: the polls, the executions, and what got no answer.
      const now = Date.now();
      const polls = sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId });
      const answeredNow = answeredTexts();
      const statuses: Record<string, number> = {};
      for (const execution of await allExecutions(stack.main, workflow, false).catch(() => [])) statuses[execution.status] = (statuses[execution.status] ?? 0) + 1;
      const seconds = (time: number | undefined) => (time === undefined ? 'never' : `${Math.round((now - time) / 1000)} s ago`);
      failWith(
        new Error(
          `${error.message}: ${written.length} written, ${answeredNow.size} answered; executions ${JSON.stringify(statuses)}; ` +
            `${polls.length} getupdates, the last ${seconds(polls[polls.length - 1]?.time)}; ` +
            `unanswered: ${JSON.stringify(written.filter((text) => !answeredNow.has(text)).slice(0, 12))}; at main's kill in transit ${JSON.stringify([...inTransitTexts])}, left in the inbox ${JSON.stringify(leftAtKill)}`,
        ),
      );
    });
    await sleep(3_000);
    unsubscribe();
    const got = sim.admin.sentMessages({ botId: bot.botId }).map((r) => ({ to: r.to, text: textOf(r.msg).replace(/^got: /, '') }));
    const texts = got.map((g) => g.text);
    expect(new Set(texts).size).toBe(texts.length);
    const lost = written.filter((text) => !texts.includes(text));
    // How long main took from an answer written out to its next poll (stored it, handed it over): a kill in that time may find it in transit.
    const pollTimes = sim.admin.requests({ endpoint: 'getUpdates', botId: bot.botId }).map((r) => r.time);
    const gaps = answerTimes.map((time) => (pollTimes.find((t) => t >= time) ?? Infinity) - time).filter(Number.isFinite).sort((a, b) => a - b);
    console.log(
      `queue-mode kills: ${written.length} written, ${texts.length} answered, lost ${JSON.stringify(lost)}; at main's kill in transit ${JSON.stringify([...inTransitTexts])}, ` +
        `left in the inbox ${leftAtKill.length}; from an answer to main's next poll: p50 ${gaps[Math.floor(gaps.length / 2)]} ms, max ${gaps[gaps.length - 1]} ms`,
    );
    expect(lost.filter((text) => !inTransitTexts.has(text)).length).toBeLessThanOrEqual(2);
    // The server never replays (§10): what was in transit is never answered.
    expect(texts.filter((text) => inTransitTexts.has(text))).toEqual([]);
    for (const user of users) {
      const mine = got.filter((g) => g.to === user).map((g) => Number(g.text.split('-')[1]));
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    const executions = await allExecutions(stack.main, workflow, false);
    expect(ranOnWorkers(executions.filter((e) => e.status === 'success'))).toBe(true);
  });
});
