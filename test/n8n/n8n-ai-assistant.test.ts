/**
 * The shipped workflow n8n-workflows/wechat-ai-assistant.json (WeChat iLink
 * Trigger → AI Agent with OpenAI Chat Model and Simple Memory → Reply) in a
 * real n8n 2.41.1, against the strict simulator and an OpenAI-compatible stub
 * (test/n8n/openai-stub.ts) that records what the model is shown:
 * - memory: a user's second request to the model carries their first
 *   exchange (the agent reads chatInput, the memory keys on sessionId, both
 *   at their defaults);
 * - one memory per user: another user's first request holds none of it;
 * - each answer reaches the user who asked, as a reply with their message's
 *   context token;
 * - "Long Answers" = "Fit the Budget": an answer longer than the 10 messages
 *   iLink allows per user message sends 10, the last ending with the
 *   continuation hint, and the rest after the user's next message.
 * The file is imported as it is: only the node type prefix (n8n names nodes
 * loaded from a folder CUSTOM.*) and the credentials the user would pick are
 * filled in, in memory. One n8n, one bot, one published workflow for the
 * file; each test has its own users.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONTINUATION_HINT, TEXT_CHUNK_LIMIT } from '../../shared';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo, SentRecord } from '../../simulator/state';
import { startN8n, type N8nInstance, type N8nWorkflowInput } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, simulatorCredential, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { lastUserText, longChineseAnswer, startOpenAiStub, transcript, type OpenAiStub, type StubRequest } from './openai-stub';
import type { CredentialRef } from './workflows';

jest.setTimeout(180_000);

const WORKFLOW_FILE = path.join(projectRoot, 'n8n-workflows', 'wechat-ai-assistant.json');
const SENDS_PER_INBOUND = 10;
/** What a user writes to get the stub's long answer. */
const ASK_FOR_LONG = '请详细介绍一下';
const LONG_ANSWER = longChineseAnswer(12, 3_500);
/** Distinctive, so that a leak would be found. */
const OPENAI_API_KEY = 'sk-stub-7d1e0c55a9b04f4e';

type Json = Record<string, any>;

/** Which credential type each node type of the file takes. */
const CREDENTIAL_OF_TYPE: Record<string, string> = {
  'n8n-nodes-wechat-ilink.weChatIlinkTrigger': 'wechatIlinkApi',
  'n8n-nodes-wechat-ilink.weChatIlink': 'wechatIlinkApi',
  '@n8n/n8n-nodes-langchain.lmChatOpenAi': 'openAiApi',
};

function readWorkflowFile(): Json {
  return JSON.parse(fs.readFileSync(WORKFLOW_FILE, 'utf8')) as Json;
}

/** The file's workflow as this n8n loads our nodes (CUSTOM.*), with the credentials a user would choose. */
function asImported(file: Json, credentials: Record<string, CredentialRef>): N8nWorkflowInput {
  const nodes = (file.nodes as Json[]).map((node) => {
    const credentialType = CREDENTIAL_OF_TYPE[node.type as string];
    const type = String(node.type).replace(/^n8n-nodes-wechat-ilink\./, 'CUSTOM.');
    const ref = credentialType ? credentials[credentialType] : undefined;
    if (!credentialType || !ref) return { ...node, type };
    return { ...node, type, credentials: { [credentialType]: { id: ref.id, name: ref.name } } };
  });
  return { name: file.name, nodes, connections: file.connections, settings: file.settings };
}

describe('the WeChat AI assistant workflow in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;
  let stub: OpenAiStub;
  let bot: BotInfo;
  let workflowId = '';

  /** The model's answer to a user message: tagged, so that a test can find it in a later request. */
  const answerTo = (text: string) => `回答（${text}）`;

  beforeAll(async () => {
    stub = await startOpenAiStub({ answer: (request) => (lastUserText(request) === ASK_FOR_LONG ? LONG_ANSWER : answerTo(lastUserText(request))) });
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 5_000, sendsPerInbound: SENDS_PER_INBOUND });
    n8n = await startN8n({ customExtensionDirs: [path.join(projectRoot, 'dist')], name: 'n8n-ai-assistant' });
    bot = sim.admin.createBot({ ownerUserId: 'owner-ai@im.wechat' });
    const wechat = await simulatorCredential(n8n, sim, bot, 'WeChat iLink API');
    const openAi = await n8n.createCredential('OpenAI (stub)', 'openAiApi', { apiKey: OPENAI_API_KEY, url: stub.baseUrl, header: false });
    const created = await n8n.createWorkflow(asImported(readWorkflowFile(), { wechatIlinkApi: wechat, openAiApi: openAi }));
    workflowId = created.id;
    await n8n.publishWorkflow(workflowId);
    await waitFor('the trigger to poll', () => sim.admin.notifications(bot.botId).some((n) => n.kind === 'start'), 30_000);
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
    await stub?.stop();
  });

  const sentTo = (userId: string): SentRecord[] => sim.admin.sentMessages({ botId: bot.botId, to: userId });
  /** The model's requests that answered this text (the stub saw it as the last user message). */
  const requestsFor = (text: string): StubRequest[] => stub.chatRequests().filter((r) => lastUserText(r) === text);
  /** The finished execution that the user's message started (undefined while it runs). */
  const finishedExecutionFor = async (userId: string, text: string) =>
    (await allExecutions(n8n, workflowId, true)).find((e) => {
      const item = triggerItem(e);
      return item?.from === userId && item?.text === text && !['new', 'running', 'waiting'].includes(e.status);
    });

  /**
   * The user writes; resolves with the injected message and the first reply sent after it.
   * An execution that fails instead fails the test with n8n's error.
   */
  const ask = async (userId: string, text: string) => {
    const before = sentTo(userId).length;
    const injected = sim.admin.injectMessage({ botId: bot.botId, from: userId, text });
    const reply = await waitFor(
      `a reply to ${userId}'s "${text.slice(0, 20)}"`,
      async () => {
        const sent = sentTo(userId)[before];
        if (sent) return sent;
        const run = await finishedExecutionFor(userId, text);
        if (run && run.status !== 'success') throw new Error(`the execution for "${text}" ended ${run.status}: ${JSON.stringify(run.data?.resultData?.error?.message)}`);
        return undefined;
      },
      60_000,
      250,
    );
    return { injected, reply };
  };

  it('ships importable: no credential IDs, every node type known to n8n 2.41.1, a sticky note in English and Chinese for each setting', async () => {
    const file = readWorkflowFile();
    const nodes = file.nodes as Json[];
    expect(nodes.filter((n) => 'credentials' in n).map((n) => n.name)).toEqual([]);
    const typeVersions = nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote').map((n) => `${n.type}@${n.typeVersion}`);
    expect(typeVersions.sort()).toEqual(
      [
        '@n8n/n8n-nodes-langchain.agent@3.1',
        '@n8n/n8n-nodes-langchain.lmChatOpenAi@1.3',
        '@n8n/n8n-nodes-langchain.memoryBufferWindow@1.4',
        'n8n-nodes-wechat-ilink.weChatIlink@1',
        'n8n-nodes-wechat-ilink.weChatIlinkTrigger@1',
      ].sort(),
    );
    // The prompt and the session key are at their defaults (chatInput, sessionId): nothing to set.
    const byName = (name: string) => nodes.find((n) => n.name === name)!;
    expect(byName('AI Agent').parameters).not.toHaveProperty('promptType');
    expect(byName('Simple Memory').parameters).not.toHaveProperty('sessionIdType');
    const notes = nodes.filter((n) => n.type === 'n8n-nodes-base.stickyNote').map((n) => String(n.parameters.content));
    for (const name of ['WeChat iLink Trigger', 'AI Agent', 'OpenAI Chat Model', 'Simple Memory', 'Reply']) {
      const note = notes.find((content) => content.startsWith(`### ${name}`));
      expect({ name, english: /[A-Za-z]{4,}/.test(note ?? ''), chinese: /[\u4e00-\u9fff]{4,}/.test(note ?? '') }).toEqual({ name, english: true, chinese: true });
    }
    // n8n takes the file without any credential filled in (the user picks them in the editor).
    const bare = await n8n.createWorkflow(asImported(file, {}));
    expect(bare.id).toEqual(expect.any(String));
    await n8n.api('DELETE', `/workflows/${bare.id}`);
  });

  it("memory: the model's second request for a user carries that user's first message and the answer to it", async () => {
    const user = 'memory-user@im.wechat';
    const first = '我叫小明，记住我的名字';
    const second = '我叫什么名字？';
    await ask(user, first);
    await ask(user, second);
    const [request] = requestsFor(second);
    expect(transcript(request)).toEqual([
      // LangChain sends the system message as "developer" to OpenAI's reasoning models (gpt-5-mini), as "system" to others.
      [expect.stringMatching(/^(system|developer)$/), expect.stringContaining('WeChat')],
      ['user', first],
      ['assistant', answerTo(first)],
      ['user', second],
    ]);
    expect(requestsFor(first)).toHaveLength(1);
    expect(transcript(requestsFor(first)[0]).slice(1)).toEqual([['user', first]]);
  });

  it("one memory per user: another user's first request holds nothing of the first user's conversation, and each keeps their own", async () => {
    const alice = 'alice-ai@im.wechat';
    const bob = 'bob-ai@im.wechat';
    const aliceSays = '我的暗号是蓝色大象';
    const bobSays = '你知道我的暗号吗？';
    await ask(alice, aliceSays);
    await ask(bob, bobSays);
    const bobsRequest = requestsFor(bobSays)[0];
    expect(transcript(bobsRequest).slice(1)).toEqual([['user', bobSays]]);
    expect(JSON.stringify(bobsRequest.messages)).not.toContain('蓝色大象');

    const aliceAgain = '我的暗号是什么？';
    await ask(alice, aliceAgain);
    expect(transcript(requestsFor(aliceAgain)[0]).slice(1)).toEqual([
      ['user', aliceSays],
      ['assistant', answerTo(aliceSays)],
      ['user', aliceAgain],
    ]);
  });

  it("each answer reaches the user who asked, as a reply with their message's context token", async () => {
    const users = ['carol-ai@im.wechat', 'dave-ai@im.wechat', 'erin-ai@im.wechat'];
    // All three write at once: the trigger runs them one after another, each answer must find its own user.
    const injected = users.map((userId) => ({ userId, text: `${userId} 问：今天天气怎么样？`, ...sim.admin.injectMessage({ botId: bot.botId, from: userId, text: `${userId} 问：今天天气怎么样？` }) }));
    for (const { userId, text, contextToken } of injected) {
      const reply = await waitFor(`the reply to ${userId}`, () => sentTo(userId)[0], 60_000, 100);
      expect(textOf(reply.msg)).toBe(answerTo(text));
      expect(reply.msg.context_token).toBe(contextToken);
      expect(sentTo(userId)).toHaveLength(1);
    }
    // Replies only went to those who wrote.
    expect(new Set(sim.admin.sentMessages({ botId: bot.botId }).filter((r) => users.includes(r.to)).map((r) => r.to))).toEqual(new Set(users));
  });

  it('"Long Answers" = "Fit the Budget": an answer longer than the budget sends 10 messages, the last ending with the hint, and the rest after the user\'s next message', async () => {
    const user = 'frank-ai@im.wechat';
    const needed = Math.ceil(LONG_ANSWER.length / TEXT_CHUNK_LIMIT);
    expect(needed).toBeGreaterThan(SENDS_PER_INBOUND);

    const { injected } = await ask(user, ASK_FOR_LONG);
    const firstBatch = await waitFor('the messages the budget allows', () => sentTo(user).length >= SENDS_PER_INBOUND && sentTo(user), 60_000, 100);
    const run = await waitFor('the execution of the long answer to finish', () => finishedExecutionFor(user, ASK_FOR_LONG), 30_000, 200);
    expect(run.status).toBe('success');
    // The Reply's output says what went out and that the rest waits.
    const output = run.data.resultData.runData.Reply[0].data.main[0][0].json;
    expect(output).toMatchObject({ sent: true, queued: true, to: user, queuedMessages: expect.any(Number) });
    expect(output.messageIds).toEqual(firstBatch.map((r) => r.messageId));
    expect(sentTo(user)).toHaveLength(SENDS_PER_INBOUND);
    expect(firstBatch.every((r) => r.msg.context_token === injected.contextToken)).toBe(true);
    const texts = firstBatch.map((r) => textOf(r.msg));
    expect(texts.at(-1)!.endsWith(DEFAULT_CONTINUATION_HINT)).toBe(true);
    expect(texts.slice(0, -1).some((t) => t.includes(DEFAULT_CONTINUATION_HINT))).toBe(false);
    expect(sim.admin.replyWindow(bot.botId, user).sendsLeft).toBe(0);

    // The user writes again: the rest of the answer first (with the new token), then the answer to the new message.
    const next = '好的，继续';
    const { contextToken } = sim.admin.injectMessage({ botId: bot.botId, from: user, text: next });
    const after = await waitFor('the rest and the next answer', () => {
      const sent = sentTo(user).slice(SENDS_PER_INBOUND);
      return sent.some((r) => textOf(r.msg) === answerTo(next)) && sent;
    }, 60_000, 100);
    expect(textOf(after.at(-1)!.msg)).toBe(answerTo(next));
    const rest = after.slice(0, -1).map((r) => textOf(r.msg));
    expect(rest.length).toBeGreaterThan(0);
    expect(after.every((r) => r.msg.context_token === contextToken)).toBe(true);
    // Nothing lost or repeated: what arrived, hint taken off, is the whole answer (cuts drop only the whitespace at them).
    const squeeze = (s: string) => s.replace(/\s+/g, '');
    const delivered = [...texts.slice(0, -1), texts.at(-1)!.slice(0, -DEFAULT_CONTINUATION_HINT.length), ...rest].join('');
    expect(squeeze(delivered)).toBe(squeeze(LONG_ANSWER));
    expect(rest.some((t) => t.includes(DEFAULT_CONTINUATION_HINT))).toBe(false);
  });

  it('the model API got only chat requests with the key; neither the key nor the bot token is in execution data or the n8n log', async () => {
    await ask('grace-ai@im.wechat', '你好');
    expect(stub.requests.filter((r) => r.method !== 'POST' || r.path !== '/v1/chat/completions' || r.stream)).toEqual([]);
    expect(stub.requests.every((r) => r.headers.authorization === `Bearer ${OPENAI_API_KEY}` && r.body.model === 'gpt-5-mini')).toBe(true);
    const all = await n8n.api<{ data: unknown[] }>('GET', `/executions?workflowId=${workflowId}&includeData=true&limit=250`);
    const dump = JSON.stringify(all);
    expect(dump).not.toContain(bot.token);
    expect(n8n.logText()).not.toContain(bot.token);
    expect(dump).not.toContain(OPENAI_API_KEY);
    expect(n8n.logText()).not.toContain(OPENAI_API_KEY);
  });
});
