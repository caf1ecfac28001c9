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
 *   n8n       a real n8n 2.41 with an active Trigger → Reply workflow (bench/n8n.ts),
 *             also poll response → execution start
 *   idle      CPU of idle receivers over BENCH_IDLE_SECONDS (default 60)
 *   n8n-queue n8n in queue mode (bench/n8n-queue.ts: Postgres + Redis + main + workers),
 *             the n8n part's workflow and counts with 1, 2, then 1 again worker(s), trigger
 *             Processing "One at a Time" and "In Parallel"; beside the n8n part's figures
 *             when both run (BENCH_ONLY=n8n,n8n-queue). Needs Postgres and redis-server
 *             (scripts/hosts/install-queue-mode.sh)
 *
 * bare, core and node-red run in BENCH_ROUNDS (5) alternating rounds: each
 * client starts once, then every round measures bare, core, Node-RED in turn
 * (latency, then burst), so drift of the machine hits all three alike. The
 * table shows medians across rounds, and for core and Node-RED the median of
 * the per-round ratios to bare with their min–max; the targets are checked on
 * that median. n8n (too slow to alternate), media, ceiling and idle run once.
 *
 * Other knobs: BENCH_ROUNDS (5), per round BENCH_LATENCY_COUNT (200, after 50
 * warm-up) and BENCH_BURST (3000); BENCH_USERS (100), BENCH_CEILING_BURST (10000),
 * BENCH_N8N_LATENCY_COUNT (200), BENCH_N8N_BURST (300),
 * BENCH_CPU_PROF=1 (clients, Node-RED and n8n run with --cpu-prof into bench/out/),
 * BENCH_RESULTS (output file, default bench/RESULTS.md).
 *
 *   BENCH_ONLY=bare,core,node-red BENCH_ROUNDS=3 BENCH_LATENCY_COUNT=50 BENCH_BURST=500 \
 *     BENCH_RESULTS=/tmp/r.md npm run bench      # a quick check of the rounds
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
import { CEILING_BURST, CPU_PROF, enabled, IDLE_SECONDS, PARTS, PROF_DIR, ROUND_PAUSE_MS, ROUNDS, USERS } from './config';
import { loadNodeRedHarness, projectRoot, type FlowNode, type NodeRedHandle } from './harness-loader';
import { echoRun, log, measureBurst, msSince, now } from './measure';
import { runN8nEcho, startN8nEcho, type N8nSession } from './n8n';
import { queueRows, runN8nQueue, writeQueueSection, type N8nQueueResults } from './n8n-queue';
import { hostRootPid, idleCpu, processTarget, settle, treeTarget, type CpuTarget } from './proc-cpu';
import { buildRoundsTable, buildTable, hardware, printTable, resultsPath, writeResults, type Results, type RoundHost } from './report';

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

// ---------- Node-RED ----------

const CONFIG_ID = 'c0ffee0000000001';

/** Example 01 reduced to its message path: ilink-in → ilink-send (reply), no debug nodes. */
function echoFlow(sim: Simulator, bot: { botId: string; ownerUserId: string; baseUrl: string }): FlowNode[] {
  const example = JSON.parse(fs.readFileSync(path.join(projectRoot, 'examples', '01 - Echo bot.json'), 'utf8')) as FlowNode[];
  const keep = example.filter((n) => ['tab', 'ilink-in', 'ilink-send', 'ilink-config'].includes(n.type));
  const send = keep.find((n) => n.type === 'ilink-send')!;
  for (const node of keep) {
    if (node.type === 'ilink-in') node.wires = [[send.id]];
    if (node.type === 'ilink-send') node.wires = [[]];
    if (node.type === 'ilink-config') Object.assign(node, { baseUrl: bot.baseUrl, botId: bot.botId, ownerUserId: bot.ownerUserId, cdnBaseUrl: sim.cdnBaseUrl });
  }
  return keep;
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

/** n8n counts as settled below this (% of one core over 5 s); its quiet cost measured here is about 1 %. */
const N8N_SETTLED_PCT = 2;
const fmtPct = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(3)} %`);

// ---------- main ----------

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const results: Results = { rounds: {}, echo: {}, idleEmpty: new Map(), errors: [] };
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
  let n8n: N8nSession | undefined;
  let queue: N8nQueueResults | undefined;
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
      results.ceiling = await measureBurst(sim, bot.botId, progress, () => lastProgressAt, 'ceiling', CEILING_BURST);
      log(`  delivered to a bare getupdates loop: ${results.ceiling.rate.toFixed(0)} msg/s`);
      await drain.stop();
    }

    // bare, core and Node-RED: each client process (and Node-RED) starts once, with its own
    // simulator; then ROUNDS rounds run them in turn (bare, core, Node-RED, bare, …), so
    // drift of the machine over the minute this takes hits all of them alike.
    const roundTargets: Array<{ host: RoundHost; sim: Simulator; botId: string }> = [];
    for (const mode of ['bare', 'core'] as const) {
      if (!enabled(mode)) continue;
      log(`\n[${mode}] echo client in a child process`);
      const sim = await startSimulator();
      sims.push(sim);
      const bot = sim.admin.createBot();
      clients.push(await startClient(mode, sim, bot.token, mode));
      roundTargets.push({ host: mode, sim, botId: bot.botId });
    }

    if (enabled('node-red')) {
      log('\n[node-red] Node-RED 5 runtime, ilink-in → ilink-send');
      try {
        const harness = loadNodeRedHarness();
        const redSim = await startSimulator();
        sims.push(redSim);
        const bot = redSim.admin.createBot();
        const env: Record<string, string> = {};
        if (CPU_PROF) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROF_DIR} --cpu-prof-name=node-red-${Date.now()}.cpuprofile`;
        const t0 = now();
        red = await harness.startNodeRed({ version: 5, nodesDir: [projectRoot], name: 'bench-node-red', env, startTimeoutMs: 60_000 });
        results.nodeRedVersion = red.runtimeVersion();
        const sets = (await red.nodes()).filter((s) => s.module === 'n8n-nodes-wechat-ilink');
        const broken = sets.filter((s) => s.err);
        if (sets.length === 0 || broken.length) throw new Error(`Node-RED did not load the package: ${JSON.stringify(broken)}`);
        await red.deploy(echoFlow(redSim, bot), { [CONFIG_ID]: { token: bot.token } });
        log(`  Node-RED up with the flow deployed in ${(msSince(t0) / 1000).toFixed(1)} s`);
        roundTargets.push({ host: 'node-red', sim: redSim, botId: bot.botId });
      } catch (error) {
        // The rounds of bare and core still run; idle does not count a Node-RED without the flow.
        await red?.stop().catch(() => undefined);
        red = undefined;
        results.errors.push(`node-red: ${(error as Error).stack ?? String(error)}`);
        log(`  ERROR: ${(error as Error).message}`);
      }
    }

    if (roundTargets.length > 0) {
      log(`\n[rounds] ${ROUNDS} alternating rounds of ${roundTargets.map((t) => t.host).join(', ')}`);
      const t0 = now();
      for (let round = 1; round <= ROUNDS; round++) {
        log(`\n[round ${round}/${ROUNDS}]`);
        for (const target of roundTargets) {
          await sleep(ROUND_PAUSE_MS);
          (results.rounds[target.host] ??= []).push(await echoRun(target.sim, target.botId, `${target.host}-r${round}`));
        }
      }
      log(`\n  ${ROUNDS} rounds in ${(msSince(t0) / 1000).toFixed(1)} s`);
      // The idle part starts its own bare and core clients.
      for (const client of clients.splice(0)) await client.stop();
    }

    if (enabled('n8n')) {
      log('\n[n8n] n8n runtime, WeChat iLink Trigger → Reply');
      const sim = await startSimulator();
      sims.push(sim);
      const bot = sim.admin.createBot();
      const t0 = now();
      n8n = await startN8nEcho(sim, bot.botId);
      log(`  n8n up with the workflow active in ${(msSince(t0) / 1000).toFixed(1)} s`);
      results.n8n = await runN8nEcho(sim, bot.botId, n8n);
      results.echo.n8n = results.n8n;
    }

    if (enabled('idle')) {
      log(`\n[idle] CPU of idle receivers over ${IDLE_SECONDS} s`);
      const sim = await startSimulator();
      sims.push(sim);
      const targets: CpuTarget[] = [];
      for (const mode of ['bare', 'core'] as const) {
        const bot = sim.admin.createBot();
        const client = await startClient(mode, sim, bot.token, `${mode}-idle`);
        clients.push(client);
        targets.push(processTarget(mode, client.child.pid));
      }
      if (red) targets.push(processTarget('node-red', hostRootPid(path.dirname(red.userDir))));
      // n8n's task runner is a child process: count the whole tree.
      if (n8n) targets.push(treeTarget('n8n', n8n.pid));
      await sleep(3_000);
      if (n8n) {
        const settled = await settle(treeTarget('n8n', n8n.pid), N8N_SETTLED_PCT);
        log(`  n8n settled in ${settled.seconds.toFixed(0)} s (last ${fmtPct(settled.lastPct)} over 5 s)`);
      }
      results.idle = await idleCpu(targets, IDLE_SECONDS);
      for (const [name, value] of results.idle) log(`  ${name}: ${fmtPct(value)} of one core`);
      if (red || n8n) {
        const empty: CpuTarget[] = [];
        if (red) {
          await red.deploy([]);
          empty.push(processTarget('node-red', hostRootPid(path.dirname(red.userDir))));
        }
        if (n8n) {
          await n8n.n8n.unpublishWorkflow(n8n.workflowId);
          empty.push(treeTarget('n8n', n8n.pid));
        }
        await sleep(3_000);
        if (n8n) await settle(treeTarget('n8n', n8n.pid), N8N_SETTLED_PCT);
        const idleEmpty = await idleCpu(empty, IDLE_SECONDS);
        idleEmpty.delete('simulator (bench process)');
        results.idleEmpty = idleEmpty;
        for (const [name, value] of idleEmpty) log(`  ${name} with nothing active: ${fmtPct(value)} of one core`);
      }
    }

    if (enabled('n8n-queue')) {
      // Last, after idle; the regular n8n has done its parts and would only poll beside the queue stack.
      if (n8n) {
        await n8n.stop().catch(() => undefined);
        n8n = undefined;
      }
      log('\n[n8n-queue] n8n queue mode: Postgres + Redis + main + workers, WeChat iLink Trigger → Reply');
      try {
        queue = await runN8nQueue();
        // A row that stalled or lost echoes is a finding, not a figure: it fails the run as an error does.
        for (const run of queue.runs) {
          const problems = [...(run.error ? [run.error] : []), ...(run.result?.latency.errors ?? []), ...(run.result?.burst.note ? [run.result.burst.note] : [])];
          if (problems.length) results.errors.push(`n8n-queue ${run.workers} worker(s)${run.again ? ' again' : ''}, ${run.processing}: ${problems.join('; ')}`);
        }
      } catch (error) {
        results.errors.push(`n8n-queue: ${(error as Error).stack ?? String(error)}`);
        log(`  ERROR: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    results.errors.push((error as Error).stack ?? String(error));
    log(`\nERROR: ${(error as Error).message}`);
  } finally {
    for (const client of clients) await client.stop().catch(() => undefined);
    if (red) await red.stop().catch(() => undefined);
    if (n8n) await n8n.stop().catch(() => undefined);
    for (const sim of sims) await sim.stop().catch(() => undefined);
  }

  const loadAfter = os.loadavg();
  const rows = buildTable(results);
  log('\nResults');
  for (const line of hardware(loadBefore, loadAfter, results)) log(`  ${line}`);
  printTable(rows);
  const roundRows = buildRoundsTable(results);
  if (roundRows) {
    log('\nRounds (in the order measured)');
    printTable(roundRows);
  }
  writeResults(results, rows, roundRows, loadBefore, loadAfter);
  if (queue) {
    const queueTable = queueRows(results.n8n, queue);
    log('\nn8n queue mode (rows in the order measured)');
    printTable(queueTable);
    writeQueueSection(queueTable, queue);
  }
  log(`\nWrote ${resultsPath()}`);
  if (results.errors.length) {
    for (const e of results.errors) log(`error: ${e}`);
    process.exitCode = 1;
  }
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
