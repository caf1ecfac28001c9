/**
 * The n8n part: a real n8n 2.41 (test/harness/n8n.ts) with an active
 * WeChat iLink Trigger → Reply workflow against the simulator in this process.
 *
 * Besides the round trip and the burst rate every client gets, it measures
 * poll response → execution start: the simulator stamps the moment it has
 * written the getupdates answer carrying a message (admin.onDelivered,
 * Date.now()), n8n stamps the execution's `startedAt` (a Date, read back from
 * the public API). Same machine, same clock, both with 1 ms resolution.
 */
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Simulator } from '../simulator';
import { BURST_BOUND_MS, CPU_PROF, N8N_BURST, N8N_LATENCY_COUNT, PROF_DIR, USERS } from './config';
import { loadN8nHarness, projectRoot, type N8nHandle } from './harness-loader';
import { distribution, log, measureBurst, measureLatency, SentTap, type Distribution, type EchoResult } from './measure';
import { hostRootPid } from './proc-cpu';

const TRIGGER = 'WeChat iLink Trigger';
const CREDENTIAL_TYPE = 'wechatIlinkApi';
/** A burst with no reply for this long has wedged (see the SQLite note below). */
const STALL_MS = 20_000;

export interface N8nResult extends EchoResult {
  version: string;
  /** Delivery (getupdates answer written) → execution startedAt, ms. */
  pollToStart: Distribution;
  /** Its two halves: delivery → the trigger built the item (its `receivedAt`: our poller and trigger)… */
  pollToItem: Distribution;
  /** …and item built → execution startedAt (n8n's emit → execution start). */
  itemToStart: Distribution;
  /** Execution startedAt → stoppedAt, ms (n8n's own view of the run). */
  runTime: Distribution;
  /** The Reply node's executionTime as n8n records it (parameter resolution + our send). */
  replyNode: Distribution;
  notes: string[];
}

export interface N8nSession {
  n8n: N8nHandle;
  workflowId: string;
  /** The n8n main process (the harness starts it in its own run folder); its task runner is a child. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The trigger's Processing option: 'oneAtATime' (its default: one execution at a time per bot) or 'parallel'. */
export type TriggerProcessing = 'oneAtATime' | 'parallel';

/**
 * Trigger → Reply with the message's own text, so the echo matches the benchmark's tags.
 * Processing 'oneAtATime' leaves the trigger's options empty (its default), as before.
 */
export function echoWorkflow(credential: { id: string; name: string }, processing: TriggerProcessing = 'oneAtATime') {
  const credentials = { [CREDENTIAL_TYPE]: credential };
  const triggerParameters = processing === 'oneAtATime' ? { senders: 'everyone' } : { senders: 'everyone', options: { processing } };
  return {
    name: `bench echo${processing === 'oneAtATime' ? '' : ` (${processing})`}`,
    settings: { executionOrder: 'v1' },
    nodes: [
      { id: 'b0000000-0000-4000-8000-000000000001', name: TRIGGER, type: 'CUSTOM.weChatIlinkTrigger', typeVersion: 1, position: [0, 0], parameters: triggerParameters, credentials },
      {
        id: 'b0000000-0000-4000-8000-000000000002',
        name: 'Reply',
        type: 'CUSTOM.weChatIlink',
        typeVersion: 1,
        position: [240, 0],
        parameters: { resource: 'message', operation: 'reply', text: '={{ $json.text }}' },
        credentials,
      },
    ],
    connections: { [TRIGGER]: { main: [[{ node: 'Reply', type: 'main', index: 0 }]] } },
  };
}

interface NodeRun {
  startTime?: number;
  executionTime?: number;
  data?: { main?: Array<Array<{ json?: { messageId?: string; receivedAt?: string } }>> };
}

export interface ExecutionRow {
  id: string;
  status: string;
  startedAt?: string;
  stoppedAt?: string;
  data?: { resultData?: { runData?: Record<string, NodeRun[]> } };
}

/** All executions of the workflow, newest first, through the public API's cursor pages. */
export async function executions(n8n: N8nHandle, workflowId: string, includeData: boolean, max: number): Promise<ExecutionRow[]> {
  const rows: ExecutionRow[] = [];
  let cursor: string | undefined;
  do {
    const query = `workflowId=${encodeURIComponent(workflowId)}&includeData=${includeData}&limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await n8n.api<{ data: ExecutionRow[]; nextCursor?: string | null }>('GET', `/executions?${query}`);
    rows.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && rows.length < max);
  return rows;
}

const triggerItem = (row: ExecutionRow) => row.data?.resultData?.runData?.[TRIGGER]?.[0]?.data?.main?.[0]?.[0]?.json;

async function waitFor(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`n8n: timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * n8n settings to try without editing the benchmark (for example
 * N8N_CONCURRENCY_PRODUCTION_LIMIT, DB_SQLITE_POOL_SIZE, EXECUTIONS_DATA_SAVE_ON_SUCCESS):
 * the harness starts n8n with a clean environment, so these are passed on explicitly.
 */
export function n8nSettingsFromEnv(): Record<string, string> {
  const passed = Object.entries(process.env).filter(([name, value]) => /^(N8N_|DB_|EXECUTIONS_)/.test(name) && value !== undefined);
  if (passed.length) log(`  n8n settings from the environment: ${passed.map(([name, value]) => `${name}=${value}`).join(' ')}`);
  return Object.fromEntries(passed) as Record<string, string>;
}

export async function startN8nEcho(sim: Simulator, botId: string): Promise<N8nSession> {
  const env = n8nSettingsFromEnv();
  // No --cpu-prof-name: the task runner child inherits NODE_OPTIONS and needs its own file name.
  if (CPU_PROF) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROF_DIR}`;
  const n8n = await loadN8nHarness().startN8n({ customExtensionDirs: [path.join(projectRoot, 'dist')], name: 'bench-n8n', env, startTimeoutMs: 90_000 });
  try {
    const workflowId = await publishEchoWorkflow(n8n, sim, botId);
    return { n8n, workflowId, pid: hostRootPid(path.dirname(n8n.logFile)), stop: () => n8n.stop() };
  } catch (error) {
    await n8n.stop().catch(() => undefined);
    throw error;
  }
}

/** A credential for the simulator's bot and the echo workflow, published; resolves once the trigger polls. */
export async function publishEchoWorkflow(n8n: N8nHandle, sim: Simulator, botId: string, processing: TriggerProcessing = 'oneAtATime'): Promise<string> {
  const bot = sim.admin.bots().find((b) => b.botId === botId)!;
  const credential = await n8n.createCredential(`bench bot ${botId}`, CREDENTIAL_TYPE, { baseUrl: sim.apiBaseUrl, botToken: bot.token, botId: bot.botId, ownerUserId: bot.ownerUserId });
  const workflow = await n8n.createWorkflow(echoWorkflow(credential, processing));
  await n8n.publishWorkflow(workflow.id);
  await waitFor('the trigger to start polling', () => sim.admin.notifications(botId).some((n) => n.kind === 'start'), 30_000);
  return workflow.id;
}

/**
 * Latency (N8N_LATENCY_COUNT sequential), poll → start from the executions, then the
 * burst (N8N_BURST from USERS users). `tag` prefixes the texts and the log lines
 * (bench/n8n-queue.ts runs this once per configuration, each on its own bot).
 */
export async function runN8nEcho(sim: Simulator, botId: string, session: Pick<N8nSession, 'n8n' | 'workflowId'>, tag = 'n8n'): Promise<N8nResult> {
  const { n8n, workflowId } = session;
  const notes: string[] = [];
  const deliveredAt = new Map<string, number>();
  const unsubscribe = sim.admin.onDelivered((d) => {
    for (const id of d.messageIds) if (!deliveredAt.has(id)) deliveredAt.set(id, d.time);
  });
  try {
    log(`  ${tag}: latency, ${N8N_LATENCY_COUNT} sequential messages (+ warm-up)…`);
    const latency = await measureLatency(sim, botId, `${tag}-lat`, N8N_LATENCY_COUNT);
    log(`    round trip p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms${latency.errors.length ? ` (${latency.errors.join('; ')})` : ''}`);

    // Before the burst, so that these are the newest executions. Finished ones only: the last may still be saving.
    await sleep(500);
    const rows = await executions(n8n, workflowId, true, 2 * latency.measured.length + 100);
    const byMessage = new Map<string, ExecutionRow>();
    for (const row of rows) {
      const id = triggerItem(row)?.messageId;
      if (id) byMessage.set(id, row);
    }
    const toStart: number[] = [];
    const toItem: number[] = [];
    const itemToStart: number[] = [];
    const runTime: number[] = [];
    const replyNode: number[] = [];
    for (const { messageId } of latency.measured) {
      const row = byMessage.get(messageId);
      const delivered = deliveredAt.get(messageId);
      if (!row?.startedAt || delivered === undefined) continue;
      const started = Date.parse(row.startedAt);
      toStart.push(started - delivered);
      const receivedAt = triggerItem(row)?.receivedAt;
      if (receivedAt) {
        toItem.push(Date.parse(receivedAt) - delivered);
        itemToStart.push(started - Date.parse(receivedAt));
      }
      if (row.stoppedAt) runTime.push(Date.parse(row.stoppedAt) - started);
      const reply = row.data?.resultData?.runData?.Reply?.[0]?.executionTime;
      if (reply !== undefined) replyNode.push(reply);
    }
    if (toStart.length < latency.measured.length) notes.push(`poll → start paired for ${toStart.length} of ${latency.measured.length} messages`);
    const pollToStart = distribution(toStart);
    log(`    poll response → execution startedAt p50 ${pollToStart.p50} ms, p90 ${pollToStart.p90} ms, p99 ${pollToStart.p99} ms (${pollToStart.samples} paired)`);

    log(`  ${tag}: burst of ${N8N_BURST} messages from ${USERS} users…`);
    const tap = new SentTap(sim, botId, `${tag}-burst`, N8N_BURST, BURST_BOUND_MS + 10_000);
    const burst = await measureBurst(sim, botId, () => tap.count, () => tap.lastAt, `${tag}-burst`, N8N_BURST, STALL_MS);
    log(`    ${burst.rate.toFixed(0)} msg/s (${burst.done} in ${burst.seconds.toFixed(2)} s)${burst.note ? ` — ${burst.note}` : ''}`);

    if (burst.note) notes.push(`burst: ${burst.note}`);
    const failed = (await executions(n8n, workflowId, false, 100_000)).filter((row) => row.status !== 'success');
    if (failed.length) notes.push(`${failed.length} executions not successful (${[...new Set(failed.map((r) => r.status))].join(', ')})`);
    // Seen in bursts: every message becomes a concurrent execution, and n8n's SQLite writes queue up until they time out.
    const lockTimeouts = n8n.logText().split('Timeout waiting for lock SqliteWriteConnectionMutex').length - 1;
    if (lockTimeouts) notes.push(`${lockTimeouts} "Timeout waiting for lock SqliteWriteConnectionMutex" lines in the n8n log`);
    for (const note of notes) log(`    note: ${note}`);
    return {
      version: n8nVersion(),
      latency,
      burst,
      pollToStart,
      pollToItem: distribution(toItem),
      itemToStart: distribution(itemToStart),
      runTime: distribution(runTime),
      replyNode: distribution(replyNode),
      notes,
    };
  } finally {
    unsubscribe();
  }
}

export function n8nVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(projectRoot, '.hosts', 'n8n', 'node_modules', 'n8n', 'package.json')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
