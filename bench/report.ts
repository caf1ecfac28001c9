/** The results table (console and markdown) and bench/RESULTS.md. */
import * as fs from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { BURST, enabled, IDLE_SECONDS, LATENCY_COUNT, LATENCY_WARMUP, N8N_BURST, N8N_LATENCY_COUNT, PARTS, RESULTS_FILE, USERS, WINDOW } from './config';
import { projectRoot } from './harness-loader';
import { log, type BurstResult, type Distribution, type EchoResult } from './measure';
import type { N8nResult } from './n8n';

export type Host = 'bare' | 'core' | 'node-red' | 'n8n';

export interface Results {
  injectRate?: number;
  ceiling?: BurstResult;
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

export function buildTable(r: Results): string[][] {
  const rows: string[][] = [['Measurement', 'bare undici', 'core poller', 'Node-RED 5', `n8n ${r.n8n?.version ?? '2.41'}`, 'vs bare (target)']];
  const row = (label: string, cells: Partial<Record<Host, string>>, note = '') => rows.push([label, ...HOSTS.map((h) => cells[h] ?? ''), note]);
  if (r.injectRate !== undefined || r.ceiling) {
    row('Simulator: injectMessage alone (msg/s)', { bare: fmt(r.injectRate, 0) }, 'not a client figure');
    if (r.ceiling) row(`Simulator ceiling: deliver ${r.ceiling.done} to a bare getupdates loop, no replies (msg/s)`, { bare: fmt(r.ceiling.rate, 0) }, r.ceiling.note ?? '');
  }
  const bare = r.echo.bare;
  const cells = (pick: Metric, digits: number, suffix: (h: Host) => string = () => '') =>
    Object.fromEntries(HOSTS.map((h) => [h, r.echo[h] ? `${fmt(pick(r.echo[h]!), digits)}${suffix(h)}` : 'skipped'])) as Record<Host, string>;
  const ratios = (pick: Metric, kind?: 'latency' | 'rate') => {
    if (!bare) return '';
    const parts = (['core', 'node-red', 'n8n'] as const).flatMap((h) => {
      const e = r.echo[h];
      if (!e) return [];
      const value = pick(e) / pick(bare);
      const target = kind && TARGETS[h]?.[kind];
      const verdict = target === undefined ? '' : kind === 'latency' ? ` (≤ ${target}×) ${value <= target ? 'OK' : 'MISSED'}` : ` (≥ ${target}×) ${value >= target ? 'OK' : 'MISSED'}`;
      // n8n's throughput is a few thousandths of the bare loop's: two decimals would show 0.00.
      const shown = value < 0.1 ? value.toPrecision(2) : value.toFixed(2);
      return [`${HOST_LABEL[h]} ${shown}×${verdict}`];
    });
    return parts.join('; ');
  };
  if (Object.keys(r.echo).length > 0) {
    const counts = LATENCY_COUNT === N8N_LATENCY_COUNT ? `${LATENCY_COUNT}` : `${LATENCY_COUNT} (n8n ${N8N_LATENCY_COUNT})`;
    const p50: Metric = (e) => e.latency.p50;
    const p99: Metric = (e) => e.latency.p99;
    const mean: Metric = (e) => e.latency.mean;
    const rate: Metric = (e) => e.burst.rate;
    row(`Echo round trip p50 (ms), ${counts} sequential`, cells(p50, 2), ratios(p50, 'latency'));
    row('Echo round trip p99 (ms)', cells(p99, 2), ratios(p99, 'latency'));
    row('Echo round trip mean (ms)', cells(mean, 2), ratios(mean));
    const burstSuffix = (h: Host) => (h === 'n8n' && N8N_BURST !== BURST ? ` (${N8N_BURST} msgs)` : '');
    row(`Echo throughput, ${BURST} msgs from ${USERS} users (msg/s)`, cells(rate, 0, burstSuffix), ratios(rate, 'rate'));
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
export function writeResults(results: Results, rows: string[][], loadBefore: number[], loadAfter: number[]): void {
  let analysis = '';
  if (fs.existsSync(RESULTS_FILE)) {
    const old = fs.readFileSync(RESULTS_FILE, 'utf8');
    const at = old.indexOf(ANALYSIS_START);
    if (at >= 0) analysis = old.slice(at);
  }
  const n8nCounts = enabled('n8n') ? `; n8n: ${N8N_LATENCY_COUNT} sequential, burst ${N8N_BURST}` : '';
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); the analysis section below the marker is kept across runs.',
    '',
    '## Machine',
    '',
    ...hardware(loadBefore, loadAfter, results).map((l) => `- ${l}`),
    `- Parts run: ${PARTS.filter(enabled).join(', ')}; latency ${LATENCY_COUNT} sequential messages after ${LATENCY_WARMUP} warm-up; burst ${BURST} messages from ${USERS} users, at most ${WINDOW} in flight${n8nCounts}`,
    '',
    '## Message path',
    '',
    'Round trip = high-resolution time just before `injectMessage` at the simulator → the moment the simulator records the echo (`sendmessage`).',
    'The simulator runs in the bench process; each client (bare undici loop, core poller, Node-RED, n8n) runs in its own process.',
    'n8n poll response → execution start = the simulator\'s `Date.now()` once the getupdates answer carrying the message is written (`admin.onDelivered`) → the execution\'s `startedAt` from n8n\'s public API; same machine and clock, both in whole milliseconds.',
    '',
    markdownTable(rows),
    '',
  ];
  if (results.n8n?.notes.length) lines.push(`n8n notes: ${results.n8n.notes.join('; ')}`, '');
  if (results.media) lines.push('## Media (bench/media.ts)', '', '```', results.media.trimEnd(), '```', '');
  if (results.errors.length) lines.push('## Errors in this run', '', '```', ...results.errors, '```', '');
  lines.push(analysis || `${ANALYSIS_START}\n## Analysis\n\n(not written yet)\n`);
  fs.writeFileSync(RESULTS_FILE, lines.join('\n'));
}

export const resultsPath = (): string => path.relative(projectRoot, RESULTS_FILE);
