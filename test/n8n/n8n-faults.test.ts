/**
 * The n8n nodes under injected faults, in a real n8n 2.41.1 against the strict
 * simulator (one n8n for the file). What an n8n user sees is checked:
 * - An active Trigger → Reply workflow through getupdates faults (HTTP 5xx,
 *   connection reset, malformed JSON, three in a row, a client timeout): the
 *   workflow stays active (no emitError, so n8n does not re-activate it), the
 *   poller waits retryMs / longRetryMs before asking again and logs a warning
 *   per failure, and every message injected before, during and after the fault
 *   starts exactly one execution, in order, and is answered once (each test
 *   checks its own messages, so any one runs alone). (-14 is in
 *   n8n-real.test.ts.)
 * - The action node (Webhook → node): Send Text / Reply refused with ret -2,
 *   Send Media against a CDN that answers 500 or omits x-encrypted-param on
 *   every attempt or refuses with 4xx + x-error-message, Download Media with
 *   CDN 500, a slow body, a body over the 100 MiB cap, a truncated body and a
 *   wrong key. With "Continue On Fail" the item carries the message and the
 *   run succeeds; without it the execution fails with that message.
 * Backoff is shortened, not skipped: the poller runs inside n8n's process on
 * the real clock, where no test clock reaches, so WECHAT_ILINK_POLLER_TIMINGS
 * (through the harness env) sets retryMs 300 and longRetryMs 900 instead of
 * 2 s and 30 s. Each single-fault test waits 300 ms of backoff, the three in a
 * row 300 + 300 + 900 ms: the tests measure these gaps between polls, so they
 * must stay apart from each other and above a loaded machine's scheduling
 * noise. The client-timeout test waits the 1 s poll timeout (the simulator's
 * hint), the slow-body download ~270 ms of the CDN's pauses.
 * The bot token appears in no answer, execution or log line.
 */
import * as path from 'node:path';
import { encryptAesEcb } from '../../shared/media';
import { toItem } from '../../shared/messages';
import type { MessageItem } from '../../shared/wire';
import { startSimulator, type FaultSpec, type Simulator } from '../../simulator';
import { startN8n, type N8nExecution, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { ACTION_NODE, actionWorkflow, triggerReplyWorkflow, type FaultOperation } from './n8n-fault-workflows';
import type { CredentialRef } from './workflows';

jest.setTimeout(120_000);

/** retryMs / longRetryMs distinct and short; the client timeout follows the simulator's 1 s hint. */
const TIMINGS = { initialTimeoutMs: 1000, retryMs: 300, longRetryMs: 900 };
const ALICE = 'alice@im.wechat';
const BOB = 'bob@im.wechat';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let sim: Simulator;
let n8n: N8nInstance;
let triggerBot: ReturnType<Simulator['admin']['createBot']>;
let actionBot: ReturnType<Simulator['admin']['createBot']>;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 1000 });
  n8n = await startN8n({
    customExtensionDirs: [path.join(projectRoot, 'dist')],
    name: 'n8n-faults',
    env: { WECHAT_ILINK_POLLER_TIMINGS: JSON.stringify(TIMINGS) },
  });
  triggerBot = sim.admin.createBot({ ownerUserId: 'owner-t@im.wechat' });
  actionBot = sim.admin.createBot({ ownerUserId: 'owner-a@im.wechat' });
});

afterAll(async () => {
  await n8n?.stop();
  await sim?.stop();
});

const credentialFor = (bot: typeof triggerBot, name: string): Promise<CredentialRef> => simulatorCredential(n8n, sim, bot, name);

function expectNoToken(...texts: string[]): void {
  for (const bot of [triggerBot, actionBot]) for (const text of texts) expect(text).not.toContain(bot.token);
}

describe('an active Trigger through getupdates faults', () => {
  let workflowId = '';
  const botId = () => triggerBot.botId;
  // Not filtered by bot: the simulator tags a request with its bot only after the token check,
  // which a faulted request never reaches. Only this bot polls in this file.
  const polls = () => sim.admin.requests({ endpoint: 'getUpdates' });
  const starts = () => sim.admin.notifications(botId()).filter((n) => n.kind === 'start').length;
  const echoes = () => sim.admin.sentMessages({ botId: botId() }).map((r) => textOf(r.msg));
  type Injected = { id: string; text: string; from: string };

  /** Injects one test's messages (texts unique to the test) and remembers them in injection order. */
  function messages() {
    const injected: Injected[] = [];
    const inject = (text: string, from = ALICE) => {
      injected.push({ id: sim.admin.injectMessage({ botId: botId(), from, text }).messageId, text, from });
    };
    const allEchoed = () => waitFor('every injected message answered', () => injected.every((m) => echoes().includes(`echo: ${m.text}`)), 20_000);
    return { injected, inject, allEchoed };
  }

  /**
   * One successful execution per message, emitted in order; each user got each answer once, in the
   * order they wrote. Call it after a last message was answered: the trigger emits in poll order, so
   * a duplicate of an earlier message would have come before that one.
   */
  async function expectEachOnceInOrder(injected: Injected[]): Promise<void> {
    const ids = new Set(injected.map((m) => m.id));
    const ours = (all: N8nExecution[]) => all.filter((e) => ids.has(triggerItem(e)?.messageId));
    const executions = await waitFor('an execution of each message', async () => {
      const mine = ours(await allExecutions(n8n, workflowId, true));
      return mine.length >= injected.length && mine.every((e) => !['new', 'running', 'waiting'].includes(e.status)) ? mine : undefined;
    });
    expect(executions.map((e) => e.status)).toEqual(injected.map(() => 'success'));
    // n8n numbers the executions of one batch in no fixed order (they start concurrently), so the
    // trigger's order is read from receivedAt, stamped as it emits.
    const items = executions.map((e) => triggerItem(e)!);
    expect(items.map((item) => item.messageId).sort()).toEqual([...ids].sort());
    const emittedAt = new Map(items.map((item) => [item.messageId as string, Date.parse(item.receivedAt)]));
    const inOrder = injected.map((m) => emittedAt.get(m.id)!);
    expect(inOrder).toEqual([...inOrder].sort((a, b) => a - b));
    for (const user of [ALICE, BOB]) {
      const expected = injected.filter((m) => m.from === user).map((m) => `echo: ${m.text}`);
      const answers = sim.admin.sentMessages({ botId: botId(), to: user }).map((r) => textOf(r.msg));
      expect(answers.filter((text) => expected.includes(text))).toEqual(expected);
    }
    expectNoToken(JSON.stringify(executions));
  }

  beforeAll(async () => {
    const credential = await credentialFor(triggerBot, 'fault trigger bot');
    const workflow = await n8n.createWorkflow(triggerReplyWorkflow(credential, 'fault echo', '={{ "echo: " + $json.text }}'));
    workflowId = workflow.id;
    await n8n.publishWorkflow(workflowId);
    // A first message answered: n8n's first execution (task runner start, node loading) is slow
    // enough to delay the poller's timers, so no test measures gaps in it.
    sim.admin.injectMessage({ botId: botId(), from: ALICE, text: 'warm-up' });
    await waitFor('the trigger to answer a first message', () => echoes().includes('echo: warm-up'), 60_000);
  });

  const cases: Array<{ name: string; fault: FaultSpec; logged: RegExp }> = [
    { name: 'HTTP 502', fault: { endpoint: 'getUpdates', kind: 'http5xx', status: 502 }, logged: /HTTP 502.*check the network and the API base URL; it will be retried/ },
    { name: 'connection reset', fault: { endpoint: 'getUpdates', kind: 'drop' }, logged: /request failed: .*; check the network/ },
    { name: 'malformed JSON', fault: { endpoint: 'getUpdates', kind: 'malformed' }, logged: /not valid JSON; the server sent something that is not iLink JSON; check the API base URL/ },
  ];

  test.each(cases)('$name: stays active, waits retryMs, then every message once, in order', async ({ name, fault, logged }) => {
    const { injected, inject, allEchoed } = messages();
    const startsBefore = starts();
    const logFrom = n8n.logText().length;
    const first = polls().length; // the held poll is already counted: the next request meets the fault
    sim.admin.injectFault(fault);
    inject(`${name}: before`); // answers the held poll
    await waitFor('the fault to be served', () => sim.admin.pendingFaults().length === 0 && polls().length > first);
    inject(`${name}: during 1`, BOB);
    inject(`${name}: during 2`);
    await allEchoed();
    inject(`${name}: after`);
    await allEchoed();

    const [failed, next] = polls().slice(first, first + 2);
    expect(next!.time - failed!.time).toBeGreaterThanOrEqual(TIMINGS.retryMs - 5);
    expect(next!.time - failed!.time).toBeLessThan(TIMINGS.retryMs + 1500);
    const log = n8n.logText().slice(logFrom);
    const warnings = log.split('\n').filter((line) => line.includes('getupdates failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`getupdates failed \\(1 in a row\\), retrying in ${TIMINGS.retryMs} ms`));
    expect(warnings[0]).toMatch(logged);
    // No emitError: n8n would have re-activated the workflow (a new notifystart).
    expect(starts()).toBe(startsBefore);
    expect((await n8n.api('GET', `/workflows/${workflowId}`)).active).toBe(true);
    await expectEachOnceInOrder(injected);
    expectNoToken(log);
  });

  test('three failures in a row: retryMs, retryMs, then longRetryMs; nothing lost', async () => {
    const { injected, inject, allEchoed } = messages();
    const startsBefore = starts();
    const first = polls().length;
    for (const fault of [
      { endpoint: 'getUpdates', kind: 'http5xx', status: 503 },
      { endpoint: 'getUpdates', kind: 'drop' },
      { endpoint: 'getUpdates', kind: 'malformed' },
    ] as const) {
      sim.admin.injectFault({ ...fault });
    }
    inject('row: before');
    for (let i = 1; i <= 3; i++) {
      await waitFor(`failure ${i}`, () => polls().length > first + i - 1);
      inject(`row: during ${i}`, i % 2 ? BOB : ALICE);
    }
    await allEchoed();
    inject('row: after');
    await allEchoed();
    const times = polls()
      .slice(first, first + 4)
      .map((r) => r.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(TIMINGS.retryMs - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(TIMINGS.retryMs - 5);
    expect(gaps[1]).toBeLessThan(TIMINGS.longRetryMs - 100);
    expect(gaps[2]).toBeGreaterThanOrEqual(TIMINGS.longRetryMs - 5);
    expect(starts()).toBe(startsBefore);
    await expectEachOnceInOrder(injected);
  });

  test('client timeout (the server holds the poll past it): no warning, no backoff, the next poll follows at once', async () => {
    const { injected, inject, allEchoed } = messages();
    const logFrom = n8n.logText().length;
    const first = polls().length;
    sim.admin.injectFault({ endpoint: 'getUpdates', kind: 'delay', delayMs: 5000 });
    inject('timeout: before');
    await waitFor('the delayed poll', () => sim.admin.pendingFaults().length === 0 && polls().length > first);
    const heldAt = Date.now();
    inject('timeout: during');
    await allEchoed();
    // Answered by the poll after the client gave up (~1 s), long before the server's 5 s delay.
    expect(Date.now() - heldAt).toBeLessThan(3000);
    const [held, next] = polls().slice(first, first + 2);
    expect(next!.time - held!.time).toBeGreaterThanOrEqual(TIMINGS.initialTimeoutMs - 50);
    expect(next!.time - held!.time).toBeLessThan(TIMINGS.initialTimeoutMs + TIMINGS.retryMs);
    expect(n8n.logText().slice(logFrom)).not.toContain('getupdates failed');
    inject('timeout: after');
    await allEchoed();
    await expectEachOnceInOrder(injected);
  });
});

describe('the action node under send and CDN faults', () => {
  let credential: CredentialRef;
  let contextToken = '';
  const paths = new Map<string, string>();

  beforeAll(async () => {
    credential = await credentialFor(actionBot, 'fault action bot');
    for (const operation of ['sendText', 'reply', 'sendMedia', 'download'] as const) {
      for (const cof of [true, false]) {
        const webhookPath = `fault-${operation}-${cof ? 'cof' : 'stop'}`;
        const workflow = await n8n.createWorkflow(actionWorkflow(credential, webhookPath, operation, cof));
        await n8n.publishWorkflow(workflow.id);
        paths.set(webhookPath, workflow.id);
      }
    }
    for (const webhookPath of paths.keys()) await n8n.waitForWebhookRegistered(webhookPath, true, 15_000);
    // Alice wrote to the bot: her context token lets the bot answer.
    contextToken = sim.admin.injectMessage({ botId: actionBot.botId, from: ALICE, text: 'hello' }).contextToken;
  });

  afterAll(() => expectNoToken(n8n.logText()));

  type Input = { json?: unknown; file?: { bytes: Buffer; name: string; type: string; query: Record<string, string> } };

  /** Runs the operation's workflow once; returns the webhook's answer and the execution it started. */
  async function run(operation: FaultOperation, cof: boolean, input: Input): Promise<{ status: number; body: any; execution: N8nExecution }> {
    const webhookPath = `fault-${operation}-${cof ? 'cof' : 'stop'}`;
    const workflowId = paths.get(webhookPath)!;
    const before = (await allExecutions(n8n, workflowId, false)).length;
    let res: Response;
    if (input.file) {
      const query = new URLSearchParams(input.file.query).toString();
      res = await fetch(`${n8n.url}/webhook/${webhookPath}?${query}`, {
        method: 'POST',
        headers: { 'Content-Type': input.file.type, 'Content-Disposition': `attachment; filename="${input.file.name}"` },
        body: input.file.bytes,
      });
    } else {
      res = await fetch(`${n8n.url}/webhook/${webhookPath}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input.json) });
    }
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    const executions = await waitFor('the execution', async () => {
      const all = await allExecutions(n8n, workflowId, true);
      return all.length > before && !['new', 'running', 'waiting'].includes(all.at(-1)!.status) ? all : undefined;
    });
    expect(executions).toHaveLength(before + 1);
    return { status: res.status, body, execution: executions.at(-1)! };
  }

  /**
   * Both ways: with Continue On Fail the item is {error, errorDescription?} and the run succeeds;
   * without it the execution fails on the node with the same message. Returns the message.
   */
  async function expectFailure(operation: FaultOperation, input: () => Input | Promise<Input>, message: RegExp, arm: () => void = () => undefined): Promise<string> {
    arm();
    const continued = await run(operation, true, await input());
    expect(continued.status).toBe(200);
    expect(continued.execution.status).toBe('success');
    expect(continued.body.error).toMatch(message);
    const out = continued.execution.data.resultData.runData[ACTION_NODE][0].data.main[0][0];
    expect(out.json).toEqual(continued.body);

    arm();
    const stopped = await run(operation, false, await input());
    expect(stopped.status).toBeGreaterThanOrEqual(500);
    expect(stopped.execution.status).toBe('error');
    const error = stopped.execution.data.resultData.error;
    expect(error.message).toMatch(message);
    expect(error.message).toBe(continued.body.error);
    expect(stopped.execution.data.resultData.lastNodeExecuted).toBe(ACTION_NODE);
    expectNoToken(JSON.stringify(continued), JSON.stringify(stopped));
    return continued.body.error as string;
  }

  const sends = () => sim.admin.sentMessages({ botId: actionBot.botId });
  const uploads = () => sim.cdn.requests.filter((r) => r.op === 'upload');
  const mediaFile = (): Input => ({ file: { bytes: PNG, name: 'dot.png', type: 'image/png', query: { to: ALICE, contextToken } } });

  test('Send Text with ret -2 (expired context token): says the user must write again; nothing sent', async () => {
    const sentBefore = sends().length;
    const requestsBefore = sim.admin.requests({ endpoint: 'sendMessage' }).length;
    const input = () => ({ json: { to: ALICE, text: 'late answer', contextToken } });
    const message = await expectFailure('sendText', input, /code -2 on sendmessage.*the context token has probably expired; the user must send the bot a new message before it can answer/, () =>
      sim.admin.injectFault({ endpoint: 'sendMessage', kind: 'ret-2' }),
    );
    expect(message).not.toMatch(/retr/i); // a send is never retried, and the message does not say it is
    expect(sends()).toHaveLength(sentBefore);
    expect(sim.admin.requests({ endpoint: 'sendMessage' })).toHaveLength(requestsBefore + 2); // one request per run
  });

  test('Reply with a context token the server expired: the same advice, and the next message from the user works again', async () => {
    const bobToken = sim.admin.injectMessage({ botId: actionBot.botId, from: BOB, text: 'hi' }).contextToken;
    sim.admin.expireContextToken(actionBot.botId, BOB);
    await expectFailure('reply', () => ({ json: { to: BOB, text: 'answer', contextToken: bobToken } }), /code -2 on sendmessage.*the user must send the bot a new message/);
    const fresh = sim.admin.injectMessage({ botId: actionBot.botId, from: BOB, text: 'again' }).contextToken;
    const ok = await run('reply', false, { json: { to: BOB, text: 'answer', contextToken: fresh } });
    expect(ok.body).toMatchObject({ sent: true, to: BOB });
  });

  test('Send Media: a one-off CDN 500 is retried unseen; a persistent one fails after 3 attempts and says to check the CDN and retry', async () => {
    const before = uploads().length;
    sim.admin.cdnFault({ op: 'upload', kind: 'status500' });
    const ok = await run('sendMedia', false, mediaFile());
    expect(ok.body).toMatchObject({ sent: true, to: ALICE });
    expect(uploads().length - before).toBe(2);

    const sentBefore = sends().length;
    const uploadsBefore = uploads().length;
    await expectFailure('sendMedia', mediaFile, /^CDN upload failed after 3 attempts: CDN answered HTTP 500 \(injected fault: internal error\); check the CDN URL and the network, then try again$/, () =>
      sim.admin.cdnFault({ op: 'upload', kind: 'status500', count: 3 }),
    );
    expect(uploads().length - uploadsBefore).toBe(6); // 3 per run
    expect(sends()).toHaveLength(sentBefore); // no message without its media
  });

  test('Send Media: the CDN answers 200 without x-encrypted-param every time: fails after 3 attempts, naming the missing header', async () => {
    const sentBefore = sends().length;
    await expectFailure('sendMedia', mediaFile, /^CDN upload failed after 3 attempts: CDN answered 200 without the x-encrypted-param header; check the CDN URL and the network, then try again$/, () =>
      sim.admin.cdnFault({ op: 'upload', kind: 'noEncryptedParam', count: 3 }),
    );
    expect(sends()).toHaveLength(sentBefore);
  });

  test("Send Media: a CDN 4xx is not retried, and the CDN's x-error-message reaches the user", async () => {
    const uploadsBefore = uploads().length;
    await expectFailure('sendMedia', mediaFile, /^CDN refused the upload \(HTTP 403: file type not allowed\); the file was not sent: check its type and size against that reason$/, () =>
      sim.admin.cdnFault({ op: 'upload', kind: 'status4xx', status: 403, message: 'file type not allowed' }),
    );
    expect(uploads().length - uploadsBefore).toBe(2); // one per run
  });

  // ---- Download Media: the input item is a message as the trigger outputs it ----

  const PLAIN = Buffer.from('a file from alice\n'.repeat(1500)); // ~26 KiB: 27 slow chunks
  async function fileMessage(item?: MessageItem): Promise<Input> {
    const wire = item ?? (await sim.cdn.encryptAndStore(PLAIN, { kind: 'file', fileName: 'notes.txt' }));
    return { json: { messageId: '7001', from: ALICE, text: '', contextToken, items: [toItem(wire)] } };
  }

  test('Download: CDN 500 names the status; the same item downloads once the CDN is back', async () => {
    const message = await fileMessage();
    await expectFailure('download', () => message, /^CDN download failed with HTTP 500 \(injected fault: internal error\); try again later/, () =>
      sim.admin.cdnFault({ op: 'download', kind: 'status500' }),
    );
    const ok = await run('download', false, message);
    expect(ok.body.media).toMatchObject({ fileName: 'notes.txt', size: PLAIN.length });
  });

  test('Download: a slow CDN body is read whole', async () => {
    sim.admin.cdnFault({ op: 'download', kind: 'slowBody', delayMs: 10 });
    const t0 = Date.now();
    const ok = await run('download', false, await fileMessage());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(ok.execution.status).toBe('success');
    expect(ok.body.media).toMatchObject({ kind: 'file', fileName: 'notes.txt', size: PLAIN.length });
  });

  test('Download: a body cut short says to try again', async () => {
    await expectFailure('download', () => fileMessage(), /^CDN download was cut short.*; try again$/, () => sim.admin.cdnFault({ op: 'download', kind: 'truncatedBody' }));
  });

  test('Download: a body over the 100 MiB cap fails at once from its Content-Length; n8n keeps serving', async () => {
    // No key: the object is served as it is, so the announced length is the media's size.
    const item = { type: 2, image_item: { media: { encrypt_query_param: sim.cdn.storeObject(PLAIN) } } } as MessageItem;
    const t0 = Date.now();
    const message = /^the media is too large: 150 MiB \(157286400 bytes\), the limit is 100 MiB \(104857600 bytes\); use a smaller file \(compress or split it\)$/;
    await expectFailure('download', () => fileMessage(item), message, () => sim.admin.cdnFault({ op: 'download', kind: 'oversizedBody' }));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await fetch(`${n8n.url}/healthz`)).ok).toBe(true);
  });

  test('Download: a wrong key (or damaged bytes) fails the padding check with "wrong key or damaged file"', async () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const wrong = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');
    const param = sim.cdn.storeObject(encryptAesEcb(key, PLAIN));
    const item = { type: 4, file_item: { media: { encrypt_query_param: param, aes_key: wrong.toString('base64'), encrypt_type: 1 }, file_name: 'p.txt' } } as MessageItem;
    await expectFailure('download', () => fileMessage(item), /^cannot decrypt the media: wrong key or damaged file \(invalid padding\)$/);
  });
});
