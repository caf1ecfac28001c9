/**
 * The n8n-queue part: the n8n part's echo workflow and measurements (bench/n8n.ts:
 * echoWorkflow, publishEchoWorkflow, runN8nEcho) in n8n queue mode, a real
 * n8n 2.41 main + `n8n worker` processes over a throwaway Postgres and Redis
 * (test/harness/n8n-queue.ts). The trigger polls on main; every execution (the
 * Reply) runs on a worker, with the bot's state in Redis.
 *
 * One stack, one simulator, a fresh bot and workflow per configuration, in this
 * order: 1 worker, then addWorker() and 2 workers, then worker 2 stopped and
 * 1 worker again (so drift of the machine over the run shows as a 1-worker
 * pair that disagrees). Each with the trigger's Processing "One at a Time" (its
 * default: the next execution starts when the previous has finished, so one
 * execution at a time per bot however many workers there are) and "In Parallel".
 */
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../simulator';
import { CPU_PROF, N8N_BURST, N8N_LATENCY_COUNT, PROF_DIR, RESULTS_FILE, USERS } from './config';
import { loadN8nQueueHarness, projectRoot, type N8nQueueStackHandle } from './harness-loader';
import { log } from './measure';
import { hostRootPid, processTree, settle, treeCpuSeconds, type CpuTarget } from './proc-cpu';
import { executions, n8nSettingsFromEnv, n8nVersion, publishEchoWorkflow, runN8nEcho, type N8nResult, type TriggerProcessing } from './n8n';

export interface QueueRun {
  workers: number;
  /** true for the 1-worker runs after worker 2 was stopped. */
  again: boolean;
  processing: TriggerProcessing;
  result?: N8nResult;
  /** The burst's executions (the newest N8N_BURST ids) per worker, by the workers' logs; index 0 = worker 1. */
  burstPerWorker: number[];
  /** 1-minute load average when the configuration started. */
  loadAtStart: number;
  error?: string;
}

export interface N8nQueueResults {
  version: string;
  startupMs: N8nQueueStackHandle['startupMs'];
  /** addWorker() for worker 2, ms. */
  worker2StartMs: number;
  runs: QueueRun[];
  loadBefore: number[];
  loadAfter: number[];
}

const PROCESSINGS: TriggerProcessing[] = ['oneAtATime', 'parallel'];
/** Main and the running workers (with their task runners) count as settled below this, % of one core over 3 s. */
const SETTLED_PCT = 5;
const PROCESSING_LABEL: Record<TriggerProcessing, string> = { oneAtATime: 'One at a Time', parallel: 'In Parallel' };

export async function runN8nQueue(): Promise<N8nQueueResults> {
  const dist = path.join(projectRoot, 'dist');
  // The package's queue-mode support (state in Redis): without it the workers would each keep their own state file.
  const queueModule = path.join(dist, 'nodes', 'common', 'queue-mode.js');
  if (!fs.existsSync(queueModule)) throw new Error(`${path.relative(projectRoot, queueModule)} is missing: run npm run build`);
  const loadBefore = os.loadavg();
  const runs: QueueRun[] = [];
  let sim: Simulator | undefined;
  let stack: N8nQueueStackHandle | undefined;
  try {
    sim = await startSimulator();
    // Faster publication (the outbox main polls, default a few seconds); no effect on the message path.
    const env: Record<string, string> = { N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '1000', ...n8nSettingsFromEnv() };
    if (CPU_PROF) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROF_DIR}`;
    const t0 = Date.now();
    stack = await loadN8nQueueHarness().startN8nQueue({ customExtensionDirs: [dist], workers: 1, name: 'bench-n8n-queue', env, startTimeoutMs: 120_000 });
    const s = stack.startupMs;
    log(`  queue stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s (Postgres + Redis ${s.postgresAndRedis} ms, main ${s.main} ms, worker 1 ${s.workers[0]} ms)`);

    const measure = async (workers: number, again: boolean) => {
      for (const processing of PROCESSINGS) runs.push(await measureOne(sim!, stack!, workers, again, processing));
    };
    await measure(1, false);
    const t1 = Date.now();
    await stack.addWorker();
    const worker2StartMs = Date.now() - t1;
    log(`  worker 2 up in ${(worker2StartMs / 1000).toFixed(1)} s`);
    await measure(2, false);
    await stack.workers[1]!.stop();
    log('  worker 2 stopped');
    await measure(1, true);
    return { version: n8nVersion(), startupMs: stack.startupMs, worker2StartMs, runs, loadBefore, loadAfter: os.loadavg() };
  } finally {
    await stack?.stop().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
  }
}

async function measureOne(sim: Simulator, stack: N8nQueueStackHandle, workers: number, again: boolean, processing: TriggerProcessing): Promise<QueueRun> {
  const tag = `queue-${workers}w${again ? '-again' : ''}-${processing}`;
  // A just-started stack or the previous burst keeps n8n's garbage collector busy for a while: not this configuration's cost.
  const settled = await settle(stackTarget(stack), SETTLED_PCT, 3, 60);
  const run: QueueRun = { workers, again, processing, burstPerWorker: [], loadAtStart: os.loadavg()[0]! };
  const settledText = `settled in ${settled.seconds.toFixed(0)} s at ${settled.lastPct?.toFixed(1) ?? 'n/a'} % of a core`;
  log(`\n  [${tag}] ${workers} worker${workers === 1 ? '' : 's'}, Processing "${PROCESSING_LABEL[processing]}" (stack ${settledText}; load ${run.loadAtStart.toFixed(2)})`);
  // A fresh bot per configuration: its own executions, state and sent records (the taps match on texts per bot).
  const bot = sim.admin.createBot();
  let workflowId: string | undefined;
  try {
    workflowId = await publishEchoWorkflow(stack.main, sim, bot.botId, processing);
    run.result = await runN8nEcho(sim, bot.botId, { n8n: stack.main, workflowId }, tag);
    const ids = (await executions(stack.main, workflowId, false, 100_000)).map((row) => row.id).sort((a, b) => Number(b) - Number(a));
    const burstIds = new Set(ids.slice(0, N8N_BURST));
    run.burstPerWorker = stack.workers.map((w) => w.executionIds().filter((id) => burstIds.has(id)).length);
    log(`    burst executions per worker: ${run.burstPerWorker.map((n, i) => `worker ${i + 1} ${n}`).join(', ')}`);
  } catch (error) {
    run.error = (error as Error).message;
    log(`    ERROR: ${run.error}`);
  } finally {
    if (workflowId) await stack.main.unpublishWorkflow(workflowId).catch(() => undefined);
  }
  // Let the last executions' writes and n8n's bookkeeping end before the next configuration.
  await sleep(3_000);
  return run;
}

/** CPU of main and the running workers, each with its task runner. */
function stackTarget(stack: N8nQueueStackHandle): CpuTarget {
  const roots = [hostRootPid(path.dirname(stack.main.logFile)), ...stack.workers.filter((w) => w.isRunning()).map((w) => w.pid)];
  const pids = roots.flatMap((pid) => (pid ? processTree(pid) : []));
  return { name: 'n8n queue stack', cpu: () => treeCpuSeconds(pids) };
}

const fmt = (v: number | undefined, digits: number): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

/** Mode, workers, processing, burst msg/s, p50 ms, …; the regular n8n part's run first when it ran. */
export function queueRows(regular: N8nResult | undefined, queue: N8nQueueResults): string[][] {
  const rows: string[][] = [['Mode', 'Workers', 'Processing', 'Burst msg/s', 'p50 ms', 'p99 ms', 'Burst executions per worker', 'Load at start', 'Notes']];
  const notes = (r: N8nResult | undefined, error?: string) => [...(error ? [error] : []), ...(r?.latency.errors ?? []), ...(r?.notes ?? [])].join('; ');
  if (regular) rows.push(['regular (SQLite, main runs all)', '–', PROCESSING_LABEL.oneAtATime, fmt(regular.burst.rate, 1), fmt(regular.latency.p50, 1), fmt(regular.latency.p99, 1), '', '', notes(regular)]);
  for (const run of queue.runs) {
    const r = run.result;
    rows.push([
      'queue (Postgres + Redis)',
      `${run.workers}${run.again ? ' (again, worker 2 stopped)' : ''}`,
      PROCESSING_LABEL[run.processing],
      fmt(r?.burst.rate, 1),
      fmt(r?.latency.p50, 1),
      fmt(r?.latency.p99, 1),
      run.burstPerWorker.join(' / '),
      fmt(run.loadAtStart, 2),
      notes(r, run.error),
    ]);
  }
  return rows;
}

function markdown(rows: string[][]): string[] {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${rows[0]!.map(escape).join(' | ')} |`, `|${rows[0]!.map((_, c) => (c < 3 || c === rows[0]!.length - 1 ? '---' : '---:')).join('|')}|`, ...rows.slice(1).map((row) => `| ${row.map(escape).join(' | ')} |`)];
}

const ANALYSIS_START = '<!-- analysis -->';

/** Puts this run's queue table into the measured part of the results file (just above the kept analysis). */
export function writeQueueSection(rows: string[][], queue: N8nQueueResults): void {
  if (!fs.existsSync(RESULTS_FILE)) return;
  const text = fs.readFileSync(RESULTS_FILE, 'utf8');
  const s = queue.startupMs;
  const section = [
    '## n8n queue mode (bench/n8n-queue.ts)',
    '',
    `n8n ${queue.version}, EXECUTIONS_MODE=queue: main polls (the trigger), \`n8n worker\` processes (default concurrency 10 each) run the executions, Postgres and Redis throwaway local servers; ` +
      `the n8n part's echo workflow, latency ${N8N_LATENCY_COUNT} sequential, burst ${N8N_BURST} from ${USERS} users; a fresh bot and workflow per row, rows in the order measured. ` +
      `Start: Postgres + Redis ${s.postgresAndRedis} ms, main ${s.main} ms, worker 1 ${s.workers[0]} ms, worker 2 (addWorker) ${queue.worker2StartMs} ms. ` +
      `Load average (1/5/15 min) before ${queue.loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after ${queue.loadAfter.map((l) => l.toFixed(2)).join(' / ')}; ${os.cpus().length} cores.`,
    '',
    ...markdown(rows),
    '',
    '',
  ].join('\n');
  const at = text.indexOf(ANALYSIS_START);
  fs.writeFileSync(RESULTS_FILE, at >= 0 ? `${text.slice(0, at)}${section}${text.slice(at)}` : `${text}\n${section}`);
}
