/** The results table (console and markdown) and bench/RESULTS.md. */
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { BURST, CEILING_BURST, enabled, IDLE_SECONDS, LATENCY_COUNT, LATENCY_WARMUP, N8N_BURST, N8N_LATENCY_COUNT, PARTS, RESULTS_FILE, ROUNDS, USERS, WINDOW } from './config';
import { projectRoot } from './harness-loader';
import { log, type BurstResult, type Distribution, type EchoResult } from './measure';
import type { N8nResult } from './n8n';

export type Host = 'bare' | 'core' | 'node-red' | 'n8n';
/** The hosts measured in alternating rounds (n8n is measured once). */
export type RoundHost = 'bare' | 'core' | 'node-red';

export interface Results {
  injectRate?: number;
  ceiling?: BurstResult;
  /** One result per round, in round order, for bare, core and Node-RED. */
  rounds: Partial<Record<RoundHost, EchoResult[]>>;
  /** Hosts measured once (n8n). */
  echo: Partial<Record<Host, EchoResult>>;
  n8n?: N8nResult;
  /** Idle CPU with an active receiver, per host; plus the simulator. */
  idle?: Map<string, number | undefined>;
  /** Idle CPU of the same host with nothing deployed / no active workflow. */
  idleEmpty: Map<string, number | undefined>;
  nodeRedVersion?: string;
  media?: string;
  errors: string[];
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const HOSTS: Host[] = ['bare', 'core', 'node-red', 'n8n'];
const HOST_LABEL: Record<Host, string> = { bare: 'bare', core: 'core', 'node-red': 'Node-RED', n8n: 'n8n' };
/** Targets for our hosts against the bare loop; n8n's own machinery is outside our reach, so it has none. */
const TARGETS: Partial<Record<Host, { latency: number; rate: number }>> = { 'node-red': { latency: 1.1, rate: 0.8 } };

type Metric = (e: EchoResult) => number;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const isRoundHost = (h: Host): h is RoundHost => h !== 'n8n';
const measured = (r: Results, h: Host): boolean => (isRoundHost(h) ? (r.rounds[h]?.length ?? 0) > 0 : r.echo[h] !== undefined);

/** A host's figure: the median across its rounds, or its one run (n8n). */
function figure(r: Results, h: Host, pick: Metric): number | undefined {
  if (isRoundHost(h)) {
    const rounds = r.rounds[h];
    return rounds?.length ? median(rounds.map(pick)) : undefined;
  }
  const e = r.echo[h];
  return e ? pick(e) : undefined;
}

interface Ratio {
  median: number;
  min: number;
  max: number;
  /** Rounds with both the host and bare measured; 0 = a single run against bare's median (n8n). */
  rounds: number;
}

/** Per-round ratios to bare (round i of the host / round i of bare), summarised; n8n against bare's median. */
export function ratioToBare(r: Results, h: Exclude<Host, 'bare'>, pick: Metric): Ratio | undefined {
  const bare = r.rounds.bare;
  if (!bare?.length) return undefined;
  if (!isRoundHost(h)) {
    const e = r.echo[h];
    if (!e) return undefined;
    const value = pick(e) / median(bare.map(pick));
    return { median: value, min: value, max: value, rounds: 0 };
  }
  const ours = r.rounds[h];
  if (!ours?.length) return undefined;
  const per = ours.slice(0, bare.length).map((e, i) => pick(e) / pick(bare[i]!));
  return { median: median(per), min: Math.min(...per), max: Math.max(...per), rounds: per.length };
}

// n8n's throughput is a few thousandths of the bare loop's: two decimals would show 0.00.
const fmtRatio = (value: number): string => (Number.isNaN(value) ? 'n/a' : value < 0.1 ? value.toPrecision(2) : value.toFixed(2));

export function buildTable(r: Results): string[][] {
  const rows: string[][] = [
    ['Measurement', 'bare undici', 'core poller', 'Node-RED 5', `n8n ${r.n8n?.version ?? '2.41'}`, 'vs bare: median of per-round ratios [min–max, rounds] (target)'],
  ];
  const row = (label: string, cells: Partial<Record<Host, string>>, note = '') => rows.push([label, ...HOSTS.map((h) => cells[h] ?? ''), note]);
  if (r.injectRate !== undefined || r.ceiling) {
    row('Simulator: injectMessage alone (msg/s)', { bare: fmt(r.injectRate, 0) }, 'not a client figure');
    if (r.ceiling) row(`Simulator ceiling: deliver ${r.ceiling.done} to a bare getupdates loop, no replies (msg/s)`, { bare: fmt(r.ceiling.rate, 0) }, r.ceiling.note ?? '');
  }
  const cells = (pick: Metric, digits: number, suffix: (h: Host) => string = () => '') =>
    Object.fromEntries(HOSTS.map((h) => [h, measured(r, h) ? `${fmt(figure(r, h, pick), digits)}${suffix(h)}` : 'skipped'])) as Record<Host, string>;
  const ratios = (pick: Metric, kind?: 'latency' | 'rate') => {
    const parts = (['core', 'node-red', 'n8n'] as const).flatMap((h) => {
      const ratio = ratioToBare(r, h, pick);
      if (!ratio) return [];
      const target = kind && TARGETS[h]?.[kind];
      const value = ratio.median;
      const verdict = target === undefined ? '' : kind === 'latency' ? ` (≤ ${target}×) ${value <= target ? 'OK' : 'MISSED'}` : ` (≥ ${target}×) ${value >= target ? 'OK' : 'MISSED'}`;
      const spread = ratio.rounds === 0 ? ' [one run, vs bare median]' : ` [${fmtRatio(ratio.min)}–${fmtRatio(ratio.max)}×, ${ratio.rounds} round${ratio.rounds === 1 ? '' : 's'}]`;
      return [`${HOST_LABEL[h]} ${fmtRatio(value)}×${spread}${verdict}`];
    });
    return parts.join('; ');
  };
  const roundsRun = Math.max(0, ...Object.values(r.rounds).map((x) => x?.length ?? 0));
  if (roundsRun > 0 || Object.keys(r.echo).length > 0) {
    const perRound = roundsRun > 0 ? ` × ${roundsRun} round${roundsRun === 1 ? '' : 's'}` : '';
    const n8nCount = r.echo.n8n ? ` (n8n ${N8N_LATENCY_COUNT}, once)` : '';
    const p50: Metric = (e) => e.latency.p50;
    const p99: Metric = (e) => e.latency.p99;
    const mean: Metric = (e) => e.latency.mean;
    const rate: Metric = (e) => e.burst.rate;
    const medians = roundsRun > 0 ? ', medians across rounds' : '';
    row(`Echo round trip p50 (ms), ${LATENCY_COUNT} sequential${perRound}${n8nCount}${medians}`, cells(p50, 2), ratios(p50, 'latency'));
    row('Echo round trip p99 (ms)', cells(p99, 2), ratios(p99, 'latency'));
    row('Echo round trip mean (ms)', cells(mean, 2), ratios(mean));
    const burstSuffix = (h: Host) => (h === 'n8n' && N8N_BURST !== BURST ? ` (${N8N_BURST} msgs)` : '');
    row(`Echo throughput, ${BURST} msgs from ${USERS} users${perRound} (msg/s)`, cells(rate, 0, burstSuffix), ratios(rate, 'rate'));
  }
  if (r.n8n) {
    const spread = (d: Distribution) => `${fmt(d.p50, 0)} / ${fmt(d.p90, 0)} / ${fmt(d.p99, 0)}`;
    row('n8n: poll response → execution startedAt, p50 / p90 / p99 (ms, 1 ms clocks)', { n8n: spread(r.n8n.pollToStart) }, `${r.n8n.pollToStart.samples} paired; mean ${fmt(r.n8n.pollToStart.mean, 1)} ms`);
    row('  of which: poll response → trigger item built (item receivedAt)', { n8n: spread(r.n8n.pollToItem) }, 'our poller and trigger');
    row('  of which: trigger item built → execution startedAt', { n8n: spread(r.n8n.itemToStart) }, 'n8n: emit → execution start');
    row('n8n: execution startedAt → stoppedAt, p50 / p90 / p99 (ms)', { n8n: spread(r.n8n.runTime) }, 'n8n\'s own run time of Trigger → Reply');
    row('  of which: Reply node executionTime', { n8n: spread(r.n8n.replyNode) }, 'parameter resolution + our send');
  }
  if (r.idle) {
    const pct = (map: Map<string, number | undefined>, name: string) => (map.has(name) ? `${fmt(map.get(name), 3)} %` : 'skipped');
    row(`Idle CPU over ${IDLE_SECONDS} s, active receiver (% of one core)`, Object.fromEntries(HOSTS.map((h) => [h, pct(r.idle!, h)])), `simulator ${pct(r.idle, 'simulator (bench process)')}`);
    if (r.idleEmpty.size > 0) {
      row('Idle CPU, same host with nothing deployed / no active workflow', Object.fromEntries([...r.idleEmpty.keys()].map((h) => [h, pct(r.idleEmpty, h)])), 'the host\'s own idle cost');
    }
  }
  return rows;
}

/**
 * Every round's figures in the order measured, with the ratio to bare of the
 * same round (the figures behind the medians). Undefined when no rounds ran.
 */
export function buildRoundsTable(r: Results): string[][] | undefined {
  const count = Math.max(0, ...Object.values(r.rounds).map((x) => x?.length ?? 0));
  if (count === 0) return undefined;
  const rows: string[][] = [['Round', 'Host', 'p50 (ms)', 'p99 (ms)', 'mean (ms)', 'msg/s', 'p50 / bare', 'p99 / bare', 'msg/s / bare', 'Notes']];
  const hosts = (['bare', 'core', 'node-red'] as const).filter((h) => r.rounds[h]?.length);
  for (let i = 0; i < count; i++) {
    const bare = r.rounds.bare?.[i];
    for (const h of hosts) {
      const e = r.rounds[h]?.[i];
      if (!e) continue;
      const vs = (pick: Metric) => (h === 'bare' || !bare ? '' : `${fmtRatio(pick(e) / pick(bare))}×`);
      const notes = [...e.latency.errors, ...(e.burst.note ? [e.burst.note] : [])].join('; ');
      rows.push([
        String(i + 1),
        HOST_LABEL[h],
        fmt(e.latency.p50),
        fmt(e.latency.p99),
        fmt(e.latency.mean),
        fmt(e.burst.rate, 0),
        vs((x) => x.latency.p50),
        vs((x) => x.latency.p99),
        vs((x) => x.burst.rate),
        notes,
      ]);
    }
  }
  return rows;
}

export function printTable(rows: string[][]): void {
  const last = rows[0]!.length - 1;
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  for (const [i, row] of rows.entries()) {
    log(`  ${row.map((cellText, c) => (c === 0 || c === last ? cellText.padEnd(widths[c]!) : cellText.padStart(widths[c]!))).join('  ')}`);
    if (i === 0) log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  }
}

function markdownTable(rows: string[][]): string {
  const last = rows[0]!.length - 1;
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${rows[0]!.map(escape).join(' | ')} |`, `|${rows[0]!.map((_, c) => (c === 0 || c === last ? '---' : '---:')).join('|')}|`];
  for (const row of rows.slice(1)) lines.push(`| ${row.map(escape).join(' | ')} |`);
  return lines.join('\n');
}

export function hardware(loadBefore: number[], loadAfter: number[], results?: Pick<Results, 'nodeRedVersion' | 'n8n'>): string[] {
  const cpus = os.cpus();
  const hosts = [results?.nodeRedVersion && `Node-RED ${results.nodeRedVersion}`, results?.n8n && `n8n ${results.n8n.version}`].filter(Boolean).join('; ');
  return [
    `Date: ${new Date().toISOString()}`,
    `CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} cores`,
    `Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; ${os.type()} ${os.release()} (${os.arch()})`,
    `Node: ${process.version} (bench, simulator and clients)${hosts ? `; ${hosts}` : ''}`,
    `Load average (1/5/15 min): before ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' / ')}`,
  ];
}

const ANALYSIS_START = '<!-- analysis -->';

/** Rewrites the measured part of RESULTS.md and keeps the hand-written analysis below the marker. */
export function writeResults(results: Results, rows: string[][], roundRows: string[][] | undefined, loadBefore: number[], loadAfter: number[]): void {
  let analysis = '';
  if (fs.existsSync(RESULTS_FILE)) {
    const old = fs.readFileSync(RESULTS_FILE, 'utf8');
    const at = old.indexOf(ANALYSIS_START);
    if (at >= 0) analysis = old.slice(at);
  }
  const n8nCounts = enabled('n8n') ? `; n8n once: ${N8N_LATENCY_COUNT} sequential, burst ${N8N_BURST}` : '';
  const roundHosts = (['bare', 'core', 'node-red'] as const).filter((h) => enabled(h));
  const ceiling = enabled('ceiling') ? `; ceiling burst ${CEILING_BURST}` : '';
  const echoCounts = roundHosts.length
    ? `${ROUNDS} alternating rounds of ${roundHosts.map((h) => HOST_LABEL[h]).join(', ')}, each round per host: latency ${LATENCY_COUNT} sequential messages after ${LATENCY_WARMUP} warm-up, then a burst of ${BURST} messages from ${USERS} users, at most ${WINDOW} in flight`
    : `latency ${LATENCY_COUNT} sequential messages after ${LATENCY_WARMUP} warm-up; burst ${BURST} messages from ${USERS} users, at most ${WINDOW} in flight`;
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); the analysis section below the marker is kept across runs.',
    '',
    '## Machine',
    '',
    ...hardware(loadBefore, loadAfter, results).map((l) => `- ${l}`),
    `- Parts run: ${PARTS.filter(enabled).join(', ')}; ${echoCounts}${ceiling}${n8nCounts}`,
    '',
    '## Message path',
    '',
    'Round trip = high-resolution time just before `injectMessage` at the simulator → the moment the simulator records the echo (`sendmessage`).',
    'The simulator runs in the bench process; each client (bare undici loop, core poller, Node-RED, n8n) runs in its own process.',
    'n8n poll response → execution start = the simulator\'s `Date.now()` once the getupdates answer carrying the message is written (`admin.onDelivered`) → the execution\'s `startedAt` from n8n\'s public API; same machine and clock, both in whole milliseconds.',
    'bare, core and Node-RED are measured in alternating rounds (bare, core, Node-RED, bare, …; each client process started once), so drift of the machine hits them alike: their figures are the medians across rounds, and a ratio is the median of the per-round ratios (round i of the host / round i of bare) with their min–max. The targets are checked on that median. n8n is measured once, against the median of bare.',
    '',
    markdownTable(rows),
    '',
  ];
  if (roundRows) lines.push('### Rounds, in the order measured', '', markdownTable(roundRows), '');
  if (results.n8n?.notes.length) lines.push(`n8n notes: ${results.n8n.notes.join('; ')}`, '');
  if (results.media) lines.push('## Media (bench/media.ts)', '', '```', results.media.trimEnd(), '```', '');
  if (results.errors.length) lines.push('## Errors in this run', '', '```', ...results.errors, '```', '');
  lines.push(analysis || `${ANALYSIS_START}\n## Analysis\n\n(not written yet)\n`);
  fs.writeFileSync(RESULTS_FILE, lines.join('\n'));
}

export const resultsPath = (): string => path.relative(projectRoot, RESULTS_FILE);
