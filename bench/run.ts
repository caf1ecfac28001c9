/**
 * Message-path benchmarks (not part of the test suite): one command runs them
 * all and writes bench/RESULTS.md.
 *
 *   npm run bench                      # build, then node dist/bench/run.js
 *   BENCH_ONLY=core,node-red npm run bench
 *
 * Parts (BENCH_ONLY, comma-separated; default all):
 *   media     bench/media.ts in a child process (AES pipeline, CDN RSS)
 *   ceiling   simulator alone: inject rate, and delivery to a bare getupdates loop
 *   bare      bare undici echo client (the baseline)
 *   core      ILinkClient.createPoller + reply
 *   node-red  a real Node-RED 5 runtime with an ilink-in → ilink-send flow
 *   idle      CPU of idle receivers over BENCH_IDLE_SECONDS (default 60)
 *
 * Other knobs: BENCH_LATENCY_COUNT (500), BENCH_BURST (10000), BENCH_USERS (100),
 * BENCH_CPU_PROF=1 (clients and Node-RED run with --cpu-prof into bench/out/),
 * BENCH_RESULTS (output file, default bench/RESULTS.md).
 *
 * The simulator runs in this process; every client runs in its own process, so
 * the round trip is measured at the simulator for all of them: high-resolution
 * time just before injectMessage → time the simulator records the echo (a
 * waitForSent predicate is the hook). All traffic stays on 127.0.0.1.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../simulator';
import { loadNodeRedHarness, projectRoot, type FlowNode, type NodeRedHandle } from './harness-loader';

// ---------- configuration ----------

const PARTS = ['media', 'ceiling', 'bare', 'core', 'node-red', 'idle'] as const;
type Part = (typeof PARTS)[number];

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number.parseInt(raw, 10);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const part of only) if (!PARTS.includes(part as Part)) throw new Error(`BENCH_ONLY: unknown part "${part}" (parts: ${PARTS.join(', ')})`);
const enabled = (part: Part): boolean => only.length === 0 || only.includes(part);

const LATENCY_COUNT = envInt('BENCH_LATENCY_COUNT', 500);
const LATENCY_WARMUP = 50;
const BURST = envInt('BENCH_BURST', 10_000);
const USERS = envInt('BENCH_USERS', 100);
const IDLE_SECONDS = envInt('BENCH_IDLE_SECONDS', 60);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const RESULTS_FILE = process.env.BENCH_RESULTS ?? path.join(projectRoot, 'bench', 'RESULTS.md');
const PROF_DIR = path.join(projectRoot, 'bench', 'out', 'profiles');

/** Messages injected but not yet echoed: below the simulator's 5000-per-bot queue cap. */
const WINDOW = 2000;
/** Hard bounds so a stuck client cannot hang the run. */
const LATENCY_BOUND_MS = 180_000;
const BURST_BOUND_MS = 180_000;
const ECHO_TIMEOUT_MS = 10_000;

// ---------- small helpers ----------

const now = (): bigint => process.hrtime.bigint();
const msSince = (start: bigint, end: bigint = now()): number => Number(end - start) / 1e6;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface TextMsg {
  item_list?: Array<{ text_item?: { text?: string } }>;
}

/**
 * Listens to what the simulator records as sent, through the public
 * waitForSent: its predicate sees every sent record, so it counts, stamps and
 * wakes per-text waiters; it matches (and unsubscribes) after `expected` echoes.
 */
class SentTap {
  count = 0;
  lastAt = 0n;
  private readonly waiters = new Map<string, (at: bigint) => void>();

  constructor(sim: Simulator, botId: string, private readonly tag: string, expected: number, timeoutMs: number) {
    sim.admin
      .waitForSent((record) => {
        if (record.botId !== botId) return false;
        const text = (record.msg as TextMsg).item_list?.[0]?.text_item?.text;
        if (!text?.startsWith(`${this.tag}-`)) return false;
        const at = now();
        this.count++;
        this.lastAt = at;
        const waiter = this.waiters.get(text);
        if (waiter) {
          this.waiters.delete(text);
          waiter(at);
        }
        return this.count >= expected;
      }, timeoutMs)
      .catch(() => undefined);
  }

  waitFor(text: string, timeoutMs: number): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(text);
        reject(new Error(`no echo of "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(text, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }
}

// ---------- client processes ----------

interface ClientProc {
  child: ChildProcess;
  received: number;
  stop(): Promise<void>;
}

function startClient(mode: 'drain' | 'bare' | 'core', sim: Simulator, token: string, name: string): Promise<ClientProc> {
  const execArgv = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child = fork(path.join(__dirname, 'echo-client.js'), [mode, sim.apiBaseUrl, token], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: ClientProc = {
    child,
    received: 0,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' });
      const timer = sleep(5_000).then(() => 'timeout' as const);
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout' && child.pid) {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    },
  };
  child.on('message', (message: { type?: string; received?: number }) => {
    if (message?.type === 'progress' && typeof message.received === 'number') proc.received = message.received;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} client did not start within 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${mode} client exited early (${code})`)));
    child.on('message', (message: { type?: string }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(proc);
      }
    });
  });
}

// ---------- measurements ----------

interface LatencyResult {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  errors: string[];
}

async function measureLatency(sim: Simulator, botId: string, tag: string): Promise<LatencyResult> {
  const total = LATENCY_WARMUP + LATENCY_COUNT;
  const tap = new SentTap(sim, botId, tag, total, LATENCY_BOUND_MS);
  const samples: number[] = [];
  const errors: string[] = [];
  const started = now();
  for (let i = 0; i < total; i++) {
    if (msSince(started) > LATENCY_BOUND_MS) {
      errors.push(`stopped after ${i} messages: time bound ${LATENCY_BOUND_MS} ms`);
      break;
    }
    const text = `${tag}-${i}`;
    const echoed = tap.waitFor(text, i === 0 ? 30_000 : ECHO_TIMEOUT_MS);
    const t0 = now();
    sim.admin.injectMessage({ botId, from: `lat-user-${i % 10}@im.wechat`, text });
    try {
      const t1 = await echoed;
      if (i >= LATENCY_WARMUP) samples.push(msSince(t0, t1));
    } catch (error) {
      errors.push((error as Error).message);
      if (errors.length >= 3) break;
    }
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    errors,
  };
}

interface BurstResult {
  done: number;
  seconds: number;
  rate: number;
  note?: string;
}

/**
 * Injects BURST messages from USERS users, never more than WINDOW ahead of
 * `progress()` (so the simulator's queue cap never drops one), and times
 * first inject → last message done.
 */
async function measureBurst(sim: Simulator, botId: string, progress: () => number, lastAt: () => bigint, tag: string): Promise<BurstResult> {
  const base = progress();
  const start = now();
  let injected = 0;
  let note: string | undefined;
  while (injected < BURST) {
    if (msSince(start) > BURST_BOUND_MS) {
      note = `time bound ${BURST_BOUND_MS} ms hit after ${injected} injected`;
      break;
    }
    let chunk = 0;
    while (injected < BURST && injected - (progress() - base) < WINDOW && chunk < 200) {
      sim.admin.injectMessage({ botId, from: `user-${injected % USERS}@im.wechat`, text: `${tag}-${injected}` });
      injected++;
      chunk++;
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (chunk === 0) await sleep(1);
  }
  while (progress() - base < injected && msSince(start) <= BURST_BOUND_MS) await sleep(2);
  const done = progress() - base;
  if (done < BURST && !note) note = `only ${done} of ${BURST} done within ${BURST_BOUND_MS} ms`;
  const end = lastAt() > start ? lastAt() : now();
  const seconds = msSince(start, end) / 1000;
  return { done, seconds, rate: done / seconds, note };
}

async function echoRun(sim: Simulator, botId: string, name: string): Promise<{ latency: LatencyResult; burst: BurstResult }> {
  log(`  ${name}: latency, ${LATENCY_COUNT} sequential messages (+${LATENCY_WARMUP} warm-up)…`);
  const latency = await measureLatency(sim, botId, `${name}-lat`);
  log(`    p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms${latency.errors.length ? ` (${latency.errors.join('; ')})` : ''}`);
  log(`  ${name}: burst of ${BURST} messages from ${USERS} users…`);
  const tag = `${name}-burst`;
  const tap = new SentTap(sim, botId, tag, BURST, BURST_BOUND_MS + 10_000);
  const burst = await measureBurst(sim, botId, () => tap.count, () => tap.lastAt, tag);
  log(`    ${burst.rate.toFixed(0)} msg/s (${burst.done} in ${burst.seconds.toFixed(2)} s)${burst.note ? ` — ${burst.note}` : ''}`);
  return { latency, burst };
}

// ---------- CPU of a process ----------

const CLK_TCK = 100;

/** utime + stime of a process in seconds, from /proc/<pid>/stat (Linux). */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the Node-RED process the harness started. Node-RED sets
 * process.title (its cmdline then reads "node-red"), so it is found by its
 * working directory, the harness's run folder (the parent of userDir).
 */
function nodeRedPid(red: NodeRedHandle): number | undefined {
  const runDir = path.dirname(red.userDir);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`) === runDir) return Number(entry);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}

async function idleCpu(targets: Array<{ name: string; pid?: number }>, seconds: number): Promise<Map<string, number | undefined>> {
  const before = targets.map((t) => (t.pid ? procCpuSeconds(t.pid) : undefined));
  const selfBefore = process.cpuUsage();
  const start = now();
  await sleep(seconds * 1000);
  const elapsed = msSince(start) / 1000;
  const self = process.cpuUsage(selfBefore);
  const result = new Map<string, number | undefined>();
  targets.forEach((t, i) => {
    const after = t.pid ? procCpuSeconds(t.pid) : undefined;
    const b = before[i];
    result.set(t.name, after !== undefined && b !== undefined ? ((after - b) / elapsed) * 100 : undefined);
  });
  result.set('simulator (bench process)', ((self.user + self.system) / 1e6 / elapsed) * 100);
  return result;
}

// ---------- Node-RED ----------

const CONFIG_ID = 'c0ffee0000000001';

/** Example 01 reduced to its message path: ilink-in → ilink-send (reply), no debug nodes. */
function echoFlow(sim: Simulator, bot: { botId: string; ownerUserId: string; baseUrl: string }): FlowNode[] {
  const example = JSON.parse(fs.readFileSync(path.join(projectRoot, 'examples', 'node-red', '01-echo-bot.json'), 'utf8')) as FlowNode[];
  const keep = example.filter((n) => ['tab', 'ilink-in', 'ilink-send', 'ilink-config'].includes(n.type));
  const send = keep.find((n) => n.type === 'ilink-send')!;
  for (const node of keep) {
    if (node.type === 'ilink-in') node.wires = [[send.id]];
    if (node.type === 'ilink-send') node.wires = [[]];
    if (node.type === 'ilink-config') Object.assign(node, { baseUrl: bot.baseUrl, botId: bot.botId, ownerUserId: bot.ownerUserId, cdnBaseUrl: sim.cdnBaseUrl });
  }
  return keep;
}

// ---------- report ----------

interface Results {
  injectRate?: number;
  ceiling?: BurstResult;
  echo: Partial<Record<'bare' | 'core' | 'node-red', { latency: LatencyResult; burst: BurstResult }>>;
  idle?: Map<string, number | undefined>;
  idleEmptyNodeRed?: number;
  nodeRedVersion?: string;
  media?: string;
  errors: string[];
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

function buildTable(r: Results): string[][] {
  const rows: string[][] = [['Measurement', 'bare undici', 'core poller', 'Node-RED 5', 'vs bare (target)']];
  if (r.injectRate !== undefined || r.ceiling) {
    rows.push(['Simulator: injectMessage alone (msg/s)', fmt(r.injectRate, 0), '', '', 'not a client figure']);
    if (r.ceiling) rows.push([`Simulator ceiling: deliver ${r.ceiling.done} to a bare getupdates loop, no replies (msg/s)`, fmt(r.ceiling.rate, 0), '', '', r.ceiling.note ?? '']);
  }
  const bare = r.echo.bare;
  const cell = (key: 'bare' | 'core' | 'node-red', pick: (e: { latency: LatencyResult; burst: BurstResult }) => number, digits: number) => {
    const e = r.echo[key];
    return e ? fmt(pick(e), digits) : 'skipped';
  };
  const ratio = (key: 'core' | 'node-red', pick: (e: { latency: LatencyResult; burst: BurstResult }) => number, target?: { max?: number; min?: number }) => {
    const e = r.echo[key];
    if (!e || !bare) return '';
    const value = pick(e) / pick(bare);
    let verdict = '';
    if (target?.max !== undefined) verdict = ` (≤ ${target.max}×) ${value <= target.max ? 'OK' : 'MISSED'}`;
    if (target?.min !== undefined) verdict = ` (≥ ${target.min}×) ${value >= target.min ? 'OK' : 'MISSED'}`;
    return `${value.toFixed(2)}×${verdict}`;
  };
  const both = (pick: (e: { latency: LatencyResult; burst: BurstResult }) => number, target: { max?: number; min?: number }) =>
    [ratio('core', pick), ratio('node-red', pick, target)].filter(Boolean).map((s, i, all) => (all.length === 2 ? `${i === 0 ? 'core' : 'Node-RED'} ${s}` : s)).join('; ');
  if (Object.keys(r.echo).length > 0) {
    const p50 = (e: { latency: LatencyResult }) => e.latency.p50;
    const p99 = (e: { latency: LatencyResult }) => e.latency.p99;
    const mean = (e: { latency: LatencyResult }) => e.latency.mean;
    const rate = (e: { burst: BurstResult }) => e.burst.rate;
    rows.push([`Echo round trip p50 (ms), ${LATENCY_COUNT} sequential`, cell('bare', p50, 2), cell('core', p50, 2), cell('node-red', p50, 2), both(p50, { max: 1.1 })]);
    rows.push(['Echo round trip p99 (ms)', cell('bare', p99, 2), cell('core', p99, 2), cell('node-red', p99, 2), both(p99, { max: 1.1 })]);
    rows.push(['Echo round trip mean (ms)', cell('bare', mean, 2), cell('core', mean, 2), cell('node-red', mean, 2), both(mean, {})]);
    rows.push([`Echo throughput, ${BURST} msgs from ${USERS} users (msg/s)`, cell('bare', rate, 0), cell('core', rate, 0), cell('node-red', rate, 0), both(rate, { min: 0.8 })]);
  }
  if (r.idle) {
    const pct = (name: string) => (r.idle!.has(name) ? `${fmt(r.idle!.get(name), 3)} %` : 'skipped');
    rows.push([`Idle CPU over ${IDLE_SECONDS} s, active receiver (% of one core)`, pct('bare'), pct('core'), pct('node-red'), `simulator ${pct('simulator (bench process)')}`]);
    if (r.idleEmptyNodeRed !== undefined) rows.push([`Idle CPU, same Node-RED with an empty flow`, '', '', `${fmt(r.idleEmptyNodeRed, 3)} %`, 'Node-RED\'s own idle cost']);
  }
  return rows;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  for (const [i, row] of rows.entries()) {
    log(`  ${row.map((cellText, c) => (c === 0 || c === row.length - 1 ? cellText.padEnd(widths[c]!) : cellText.padStart(widths[c]!))).join('  ')}`);
    if (i === 0) log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  }
}

function markdownTable(rows: string[][]): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${rows[0]!.map(escape).join(' | ')} |`, `|${rows[0]!.map((_, c) => (c === 0 || c === 4 ? '---' : '---:')).join('|')}|`];
  for (const row of rows.slice(1)) lines.push(`| ${row.map(escape).join(' | ')} |`);
  return lines.join('\n');
}

function hardware(loadBefore: number[], loadAfter: number[], nodeRedVersion?: string): string[] {
  const cpus = os.cpus();
  return [
    `Date: ${new Date().toISOString()}`,
    `CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} cores`,
    `Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; ${os.type()} ${os.release()} (${os.arch()})`,
    `Node: ${process.version} (bench, simulator and clients)${nodeRedVersion ? `; Node-RED ${nodeRedVersion}` : ''}`,
    `Load average (1/5/15 min): before ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' / ')}`,
  ];
}

function runMedia(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'media.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`media benchmark exited with ${code}`));
    });
  });
}

// ---------- main ----------

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const results: Results = { echo: {}, errors: [] };
  log('Message-path benchmark (WeChat iLink node pack)');
  for (const line of hardware(loadBefore, loadBefore)) log(`  ${line}`);
  log(`  Parts: ${PARTS.filter(enabled).join(', ')}`);
  if (CPU_PROF) fs.mkdirSync(PROF_DIR, { recursive: true });

  if (enabled('media')) {
    log('\n[media] node dist/bench/media.js');
    try {
      results.media = await runMedia();
    } catch (error) {
      results.errors.push(`media: ${(error as Error).message}`);
    }
  }

  const sims: Simulator[] = [];
  const clients: ClientProc[] = [];
  let red: NodeRedHandle | undefined;
  try {
    if (enabled('ceiling')) {
      log('\n[ceiling] simulator alone');
      const sim = await startSimulator();
      sims.push(sim);
      const bot = sim.admin.createBot();
      // Inject rate with nobody polling (4000 messages stay below the 5000 queue cap).
      const t0 = now();
      for (let i = 0; i < 4000; i++) sim.admin.injectMessage({ botId: bot.botId, from: `user-${i % USERS}@im.wechat`, text: `warm-${i}` });
      results.injectRate = 4000 / (msSince(t0) / 1000);
      log(`  injectMessage alone: ${results.injectRate.toFixed(0)} msg/s`);
      const drain = await startClient('drain', sim, bot.token, 'drain');
      clients.push(drain);
      // Let the drain client take the 4000 warm-up messages first.
      const waitStart = now();
      while (drain.received < 4000 && msSince(waitStart) < 30_000) await sleep(5);
      let lastProgressAt = 0n;
      let lastSeen = drain.received;
      const progress = () => {
        if (drain.received !== lastSeen) {
          lastSeen = drain.received;
          lastProgressAt = now();
        }
        return drain.received;
      };
      results.ceiling = await measureBurst(sim, bot.botId, progress, () => lastProgressAt, 'ceiling');
      log(`  delivered to a bare getupdates loop: ${results.ceiling.rate.toFixed(0)} msg/s`);
      await drain.stop();
    }

    for (const mode of ['bare', 'core'] as const) {
      if (!enabled(mode)) continue;
      log(`\n[${mode}] echo client in a child process`);
      const sim = await startSimulator();
      sims.push(sim);
      const bot = sim.admin.createBot();
      const client = await startClient(mode, sim, bot.token, mode);
      clients.push(client);
      results.echo[mode] = await echoRun(sim, bot.botId, mode);
      await client.stop();
    }

    let redSim: Simulator | undefined;
    if (enabled('node-red')) {
      log('\n[node-red] Node-RED 5 runtime, ilink-in → ilink-send');
      const harness = loadNodeRedHarness();
      redSim = await startSimulator();
      sims.push(redSim);
      const bot = redSim.admin.createBot();
      const env: Record<string, string> = {};
      if (CPU_PROF) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROF_DIR} --cpu-prof-name=node-red-${Date.now()}.cpuprofile`;
      red = await harness.startNodeRed({ version: 5, nodesDir: [projectRoot], name: 'bench-node-red', env, startTimeoutMs: 60_000 });
      results.nodeRedVersion = red.runtimeVersion();
      const sets = (await red.nodes()).filter((s) => s.module === 'n8n-nodes-wechat-ilink');
      const broken = sets.filter((s) => s.err);
      if (sets.length === 0 || broken.length) throw new Error(`Node-RED did not load the package: ${JSON.stringify(broken)}`);
      await red.deploy(echoFlow(redSim, bot), { [CONFIG_ID]: { token: bot.token } });
      results.echo['node-red'] = await echoRun(redSim, bot.botId, 'node-red');
    }

    if (enabled('idle')) {
      log(`\n[idle] CPU of idle receivers over ${IDLE_SECONDS} s`);
      const sim = await startSimulator();
      sims.push(sim);
      const targets: Array<{ name: string; pid?: number }> = [];
      for (const mode of ['bare', 'core'] as const) {
        const bot = sim.admin.createBot();
        const client = await startClient(mode, sim, bot.token, `${mode}-idle`);
        clients.push(client);
        targets.push({ name: mode, pid: client.child.pid });
      }
      if (red) targets.push({ name: 'node-red', pid: nodeRedPid(red) });
      await sleep(3_000);
      results.idle = await idleCpu(targets, IDLE_SECONDS);
      for (const [name, value] of results.idle) log(`  ${name}: ${fmt(value, 3)} % of one core`);
      if (red) {
        await red.deploy([]);
        await sleep(3_000);
        const empty = await idleCpu([{ name: 'node-red', pid: nodeRedPid(red) }], IDLE_SECONDS);
        results.idleEmptyNodeRed = empty.get('node-red');
        log(`  node-red with an empty flow: ${fmt(results.idleEmptyNodeRed, 3)} % of one core`);
      }
    }
  } catch (error) {
    results.errors.push((error as Error).stack ?? String(error));
    log(`\nERROR: ${(error as Error).message}`);
  } finally {
    for (const client of clients) await client.stop().catch(() => undefined);
    if (red) await red.stop().catch(() => undefined);
    for (const sim of sims) await sim.stop().catch(() => undefined);
  }

  const loadAfter = os.loadavg();
  const rows = buildTable(results);
  log('\nResults');
  for (const line of hardware(loadBefore, loadAfter, results.nodeRedVersion)) log(`  ${line}`);
  printTable(rows);
  writeResults(results, rows, loadBefore, loadAfter);
  log(`\nWrote ${path.relative(projectRoot, RESULTS_FILE)}`);
  if (results.errors.length) {
    for (const e of results.errors) log(`error: ${e}`);
    process.exitCode = 1;
  }
}

const ANALYSIS_START = '<!-- analysis -->';

/** Rewrites the measured part of RESULTS.md and keeps the hand-written analysis below the marker. */
function writeResults(results: Results, rows: string[][], loadBefore: number[], loadAfter: number[]): void {
  let analysis = '';
  if (fs.existsSync(RESULTS_FILE)) {
    const old = fs.readFileSync(RESULTS_FILE, 'utf8');
    const at = old.indexOf(ANALYSIS_START);
    if (at >= 0) analysis = old.slice(at);
  }
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); the analysis section below the marker is kept across runs.',
    '',
    '## Machine',
    '',
    ...hardware(loadBefore, loadAfter, results.nodeRedVersion).map((l) => `- ${l}`),
    `- Parts run: ${PARTS.filter(enabled).join(', ')}; latency ${LATENCY_COUNT} sequential messages after ${LATENCY_WARMUP} warm-up; burst ${BURST} messages from ${USERS} users, at most ${WINDOW} in flight`,
    '',
    '## Message path',
    '',
    'Round trip = high-resolution time just before `injectMessage` at the simulator → the moment the simulator records the echo (`sendmessage`).',
    'The simulator runs in the bench process; each client (bare undici loop, core poller, Node-RED) runs in its own process.',
    '',
    markdownTable(rows),
    '',
  ];
  if (results.media) lines.push('## Media (bench/media.ts)', '', '```', results.media.trimEnd(), '```', '');
  if (results.errors.length) lines.push('## Errors in this run', '', '```', ...results.errors, '```', '');
  lines.push(analysis || `${ANALYSIS_START}\n## Analysis\n\n(not written yet)\n`);
  fs.writeFileSync(RESULTS_FILE, lines.join('\n'));
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    // waitForSent timers of the taps may still be pending; nothing else is.
    setTimeout(() => process.exit(), 100).unref();
  });
