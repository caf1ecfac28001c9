/**
 * n8n crash test: SIGKILL of n8n's whole process group at seeded random
 * moments (N8N_CRASH_SEED) while 4 users stream 300 messages (~33/s) through an
 * active Trigger → Reply workflow; restart on the same user folder; then count
 * loss, duplicates and per-user order. Numbers go to the console and to
 * .test-output/n8n-crash-…/crash-summary.json.
 *
 * Mechanism. The trigger keeps cursor, inbox, context tokens and handled
 * IDs in the bot's state file under n8n's user folder
 * (.n8n/wechat-ilink/<bot>.json + journal), shared by every node of the
 * instance. Each getupdates answer is written there, with its cursor, before
 * any of its messages is emitted: the simulator here does NOT replay (its
 * default, as the real server, §10), so that inbox is the only copy of a
 * fetched message. The trigger marks a message handled just before emitting
 * it (at most once: an execution a kill cuts short is not run again). With
 * Processing "One at a Time" (the default) one execution runs at a time; the
 * poller goes on fetching meanwhile, into the inbox.
 *
 * What holds after SIGKILLs, exactly (asserted): AT MOST ONCE, and a kill
 * loses at most the one message whose execution was running.
 * - No message is answered twice or executed twice.
 * - Every other message (including all written while n8n was down, and the
 *   rest of the batch in hand) is answered exactly once after the restart.
 * - The lost message was marked handled in the state file, and has the
 *   execution the kill left ("crashed" at the next start; "running" for ever
 *   if its start had not reached n8n's event log), or none at all when the
 *   kill came between the mark and n8n recording the execution.
 * - Replies to each user keep the order the user wrote in.
 * Marking it handled after the run instead would trade that loss for a
 * repeat (at least once); n8n's own triggers are at most once, so is ours.
 * Earlier runs (static data, a replaying simulator; seeds 20251125 and 7,
 * 2 kills each): one message lost per kill, 0 duplicates, 0 replies out of
 * order. Before the trigger waited for its executions (Processing "In
 * Parallel"), the same runs lost 87–149 of 300.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptySnapshot, FileStateStore, safeAccountId } from '../../shared/store';
import { startSimulator, type Simulator } from '../../simulator';
import { startN8n, type N8nExecution, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { allExecutions, sleep, textOf, triggerItem, waitFor } from './n8n-fault-helpers';
import { triggerReplyWorkflow } from './n8n-fault-workflows';
import { CREDENTIAL_TYPE } from './workflows';

jest.setTimeout(240_000);

const SEED = Number(process.env.N8N_CRASH_SEED ?? 20251125);
const TOTAL = Number(process.env.N8N_CRASH_TOTAL ?? 300);
const KILLS = Number(process.env.N8N_CRASH_KILLS ?? 2);
/** One message every RATE_MS: faster than this machine's n8n runs them, so a backlog waits in the poller's hands. */
const RATE_MS = 30;
const USERS = ['u1@im.wechat', 'u2@im.wechat', 'u3@im.wechat', 'u4@im.wechat'];
const TRIGGER = 'WeChat iLink Trigger';

/** xorshift32: a tiny seeded generator, so a run's users and kill points can be replayed. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** What the bot's state file holds while n8n is down. */
function savedTriggerState(userFolder: string, botId: string): { seen: string[]; cursor: string; inbox: string[] } {
  const state = new FileStateStore(path.join(userFolder, '.n8n', 'wechat-ilink', `${safeAccountId(botId)}.json`)).load() ?? emptySnapshot();
  return { seen: state.seenMessageIds, cursor: state.cursor, inbox: state.inbox.map((e) => e.key) };
}

/** The message an execution ran for: the trigger's output, or (crashed before it was saved) the start item. */
function messageIdOf(execution: N8nExecution): string | undefined {
  const fromRun = triggerItem(execution, TRIGGER)?.messageId;
  if (typeof fromRun === 'string') return fromRun;
  const stack = execution.data?.executionData?.nodeExecutionStack ?? [];
  const start = stack.find((entry: any) => entry?.node?.name === TRIGGER) ?? stack[0];
  const id = start?.data?.main?.[0]?.[0]?.json?.messageId;
  return typeof id === 'string' ? id : undefined;
}

let sim: Simulator;
let n8n: N8nInstance;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 1000, replay: false });
  n8n = await startN8n({
    customExtensionDirs: [path.join(projectRoot, 'dist')],
    name: 'n8n-crash',
    env: {
      // A poll failing at a kill must not sleep the default 2 s / 30 s.
      WECHAT_ILINK_POLLER_TIMINGS: JSON.stringify({ retryMs: 20, longRetryMs: 50 }),
      // n8n re-activates published workflows through an outbox it polls every 15 s; 1 s saves time.
      N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '1000',
    },
  });
});

afterAll(async () => {
  await n8n?.stop();
  await sim?.stop();
});

test(`SIGKILL during a stream of ${TOTAL} messages from ${USERS.length} users: at most once, a kill loses at most the message whose execution was running`, async () => {
  const random = seeded(SEED);
  const bot = sim.admin.createBot();
  const credential = await n8n.createCredential('crash bot', CREDENTIAL_TYPE, {
    baseUrl: sim.apiBaseUrl,
    botToken: bot.token,
    botId: bot.botId,
    ownerUserId: bot.ownerUserId,
  });
  const workflow = await n8n.createWorkflow(triggerReplyWorkflow(credential, 'crash echo', '={{ "ok " + $json.text }}'));
  await n8n.publishWorkflow(workflow.id);
  const starts = () => sim.admin.notifications(bot.botId).filter((n) => n.kind === 'start').length;
  // n8n marks its publication record done ~1 s after the trigger started. Killed before that,
  // the record stays "in progress" and the next start leaves the workflow inactive until the
  // record's 2-minute lease runs out (n8n's behaviour: messages then wait at iLink meanwhile).
  const published = () =>
    waitFor(
      'n8n to finish publishing',
      async () => (await n8n.rest<{ data: { status: string } }>('GET', `/workflows/${workflow.id}/publication-status`)).data.status === 'published',
      30_000,
      200,
    );
  await waitFor('the trigger to poll', () => starts() > 0, 30_000);
  await published();

  interface Sent {
    id: string;
    user: string;
    seq: number;
    text: string;
  }
  const messages: Sent[] = [];
  const perUser = new Map<string, number>();
  const inject = () => {
    const user = USERS[Math.floor(random() * USERS.length)]!;
    const seq = (perUser.get(user) ?? 0) + 1;
    perUser.set(user, seq);
    const text = `${user.slice(0, 2)} ${seq}`;
    messages.push({ id: sim.admin.injectMessage({ botId: bot.botId, from: user, text }).messageId, user, seq, text });
  };
  const replies = () => sim.admin.sentMessages({ botId: bot.botId });
  const answeredTexts = () => new Set(replies().map((r) => textOf(r.msg).replace(/^ok /, '')));
  // Every message a getupdates answer handed to n8n (so far, by the running process).
  const delivered = new Set<string>();
  const unsubscribe = sim.admin.onDelivered((d) => d.messageIds.forEach((id) => delivered.add(id)));

  interface Kill {
    injected: number;
    delivered: number;
    answered: number;
    /** Handled IDs in the state file when n8n died. */
    savedSeen: Set<string>;
    /** Fetched and waiting in the state file's inbox when n8n died. */
    inbox: number;
    /** Handed to n8n and not answered when it died: what this kill may lose. */
    atRisk: string[];
    restartMs: number;
  }
  const kills: Kill[] = [];
  const chunk = Math.ceil(TOTAL / (KILLS + 1));
  for (let phase = 0; phase <= KILLS; phase++) {
    const killAt = phase < KILLS ? Math.floor(chunk * (0.3 + 0.6 * random())) : -1;
    for (let i = 0; i < chunk && messages.length < TOTAL; i++) {
      if (i === killAt) {
        await n8n.kill();
        const answered = answeredTexts();
        const atRisk = messages.filter((m) => delivered.has(m.id) && !answered.has(m.text)).map((m) => m.id);
        const saved = savedTriggerState(n8n.userFolder, bot.botId);
        const savedSeen = new Set(saved.seen);
        kills.push({ injected: messages.length, delivered: delivered.size, answered: answered.size, savedSeen, inbox: saved.inbox.length, atRisk, restartMs: 0 });
      }
      inject(); // also while n8n is down, until the chunk is done
      await sleep(RATE_MS);
    }
    if (phase < KILLS) {
      const before = starts();
      const t0 = Date.now();
      await n8n.restart();
      await waitFor('the trigger to poll again', () => starts() > before, 60_000);
      kills.at(-1)!.restartMs = Date.now() - t0;
      await published();
    }
  }
  // Done when nothing new was answered for 3 s and the trigger polls with the simulator's latest cursor.
  let last = -1;
  await waitFor(
    'the answers to stop coming',
    () => {
      const now = replies().length;
      const quiet = now === last;
      last = now;
      return quiet;
    },
    120_000,
    3000,
  );
  unsubscribe();

  // ---- measure ----
  const byText = new Map(messages.map((m) => [m.text, m]));
  const replyCount = new Map<string, number>();
  const replyOrder = new Map<string, number[]>(USERS.map((u) => [u, []]));
  for (const record of replies()) {
    const m = byText.get(textOf(record.msg).replace(/^ok /, ''));
    expect(m).toBeDefined(); // every reply answers a message of this test
    replyCount.set(m!.id, (replyCount.get(m!.id) ?? 0) + 1);
    replyOrder.get(m!.user)!.push(m!.seq);
  }
  const executions = await allExecutions(n8n, workflow.id, true);
  const executionsOf = new Map<string, N8nExecution[]>();
  for (const execution of executions) {
    const id = messageIdOf(execution);
    expect(id).toBeDefined();
    executionsOf.set(id!, [...(executionsOf.get(id!) ?? []), execution]);
  }
  const atRisk = new Set(kills.flatMap((k) => k.atRisk));
  const lost = messages.filter((m) => !replyCount.has(m.id));
  // Executions a killed process left: n8n marks them "crashed" at the next start, or misses one
  // (its start had not reached n8n's event log) and shows it "running" for ever.
  const leftByKill = (e: N8nExecution) => e.status === 'crashed' || e.status === 'running';
  const lostCrashed = lost.filter((m) => (executionsOf.get(m.id) ?? []).some(leftByKill));
  const lostTraceless = lost.filter((m) => !executionsOf.has(m.id));
  const duplicated = messages.filter((m) => (replyCount.get(m.id) ?? 0) > 1 || (executionsOf.get(m.id)?.length ?? 0) > 1);
  const inversions = [...replyOrder.values()].reduce((sum, seqs) => sum + seqs.filter((s, i) => i > 0 && s < seqs[i - 1]!).length, 0);
  const statuses: Record<string, number> = {};
  for (const e of executions) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  const summary = {
    seed: SEED,
    messages: messages.length,
    users: USERS.length,
    kills: kills.map(({ atRisk: risk, savedSeen, ...k }, index) => {
      // Attributed to the first kill that found them unanswered.
      const lostHere = risk.filter((id) => !replyCount.has(id) && !kills.slice(0, index).some((earlier) => earlier.atRisk.includes(id)));
      return {
        ...k,
        savedSeen: savedSeen.size,
        atRisk: risk.length,
        lost: lostHere.length,
        // Marked handled in the state file (its execution had started); none other may be lost.
        lostMarkedHandled: lostHere.filter((id) => savedSeen.has(id)).length,
      };
    }),
    answered: replyCount.size,
    /** Handed over and unanswered at a kill, but answered (once) after the restart. */
    recovered: [...atRisk].filter((id) => replyCount.has(id)).length,
    lost: lost.length,
    lostWithLeftoverExecution: lostCrashed.length,
    answeredButListedCrashed: executions.filter((e) => leftByKill(e) && replyCount.has(messageIdOf(e)!)).length,
    lostWithoutTrace: lostTraceless.length,
    duplicated: duplicated.length,
    executions: statuses,
    replyOrderInversions: inversions,
  };
  fs.writeFileSync(path.join(path.dirname(n8n.logFile), 'crash-summary.json'), JSON.stringify({ ...summary, lostIds: lost.map((m) => m.text) }, null, 1));
  console.log(`n8n crash test: ${JSON.stringify(summary)}`);

  // ---- what holds, exactly ----
  expect(kills).toHaveLength(KILLS);
  // The kills did hit messages in flight (else this test would show nothing about them).
  expect(atRisk.size).toBeGreaterThan(0);
  // At most once: no reply twice, no second execution for any message.
  expect(duplicated.map((m) => m.text)).toEqual([]);
  // Loss only of what n8n had been handed and not yet answered when it was killed…
  expect(lost.filter((m) => !atRisk.has(m.id)).map((m) => m.text)).toEqual([]);
  // …at most the one message whose execution each kill cut short.
  expect(lost.length).toBeLessThanOrEqual(KILLS);
  // Each left an execution the kill cut short, or none: killed between the handled mark (state file) and n8n recording it.
  expect([...lostCrashed, ...lostTraceless].map((m) => m.text).sort()).toEqual(lost.map((m) => m.text).sort());
  // …each one marked handled in the state file at its kill: its execution had started. What waited in the inbox was not lost.
  expect(lost.filter((m) => !kills.some((k) => k.savedSeen.has(m.id))).map((m) => m.text)).toEqual([]);
  // The kills caught messages waiting in the inbox (fetched, not yet emitted): the server would not have sent them again.
  expect(kills.some((k) => k.inbox > 0)).toBe(true);
  // Everything else, including what was written while n8n was down, is answered exactly once.
  expect(messages.filter((m) => !atRisk.has(m.id) && replyCount.get(m.id) !== 1).map((m) => m.text)).toEqual([]);
  // Executions that finished all succeeded; every other one is a kill's leftover (some of them had
  // sent their reply already: the user got it, n8n lists the run as crashed).
  expect(executions.filter((e) => e.status !== 'success' && !leftByKill(e)).map((e) => `${e.id} ${e.status}`)).toEqual([]);
  // The trigger emitted each user's messages in order (receivedAt is stamped as it emits).
  for (const user of USERS) {
    const emitted = executions
      .filter((e) => e.status === 'success' && triggerItem(e, TRIGGER)?.from === user)
      .map((e) => triggerItem(e, TRIGGER)!)
      .sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || byText.get(a.text)!.seq - byText.get(b.text)!.seq)
      .map((item) => byText.get(item.text)!.seq);
    expect(emitted).toEqual([...emitted].sort((a, b) => a - b));
  }
  // One execution at a time: the replies keep each user's order too.
  expect(inversions).toBe(0);
});
