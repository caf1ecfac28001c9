/** Benchmark knobs, read once from the environment (see bench/run.ts for the list). */
import * as path from 'node:path';
import { projectRoot } from './harness-loader';

export const PARTS = ['media', 'ceiling', 'bare', 'core', 'node-red', 'n8n', 'idle', 'n8n-queue'] as const;
export type Part = (typeof PARTS)[number];

export function envInt(name: string, fallback: number, min = 1): number {
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
export const enabled = (part: Part): boolean => only.length === 0 || only.includes(part);

/**
 * bare, core and Node-RED are measured in ROUNDS alternating rounds (bare, core,
 * Node-RED, bare, …) so drift of the machine hits all of them alike; the counts
 * below are per round (each round also sends LATENCY_WARMUP first).
 */
export const ROUNDS = envInt('BENCH_ROUNDS', 5);
export const LATENCY_COUNT = envInt('BENCH_LATENCY_COUNT', 200);
export const LATENCY_WARMUP = 50;
export const BURST = envInt('BENCH_BURST', 3000);
/** The simulator ceiling (one run, no replies): its own count, so a smaller BENCH_BURST does not shorten it. */
export const CEILING_BURST = envInt('BENCH_CEILING_BURST', 10_000);
/** Pause before each measurement of a round, so the previous client's leftover work (GC, journal writes) is not on the next one's clock. */
export const ROUND_PAUSE_MS = 250;
export const USERS = envInt('BENCH_USERS', 100);
export const IDLE_SECONDS = envInt('BENCH_IDLE_SECONDS', 60);
/** n8n is two orders of magnitude slower per message than the other clients: its own, smaller counts. */
export const N8N_LATENCY_COUNT = envInt('BENCH_N8N_LATENCY_COUNT', 200);
export const N8N_BURST = envInt('BENCH_N8N_BURST', 300);
export const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
export const RESULTS_FILE = process.env.BENCH_RESULTS ?? path.join(projectRoot, 'bench', 'RESULTS.md');
export const PROF_DIR = path.join(projectRoot, 'bench', 'out', 'profiles');

/** Messages injected but not yet echoed: below the simulator's 5000-per-bot queue cap. */
export const WINDOW = 2000;
/** Hard bounds so a stuck client cannot hang the run. */
export const LATENCY_BOUND_MS = 180_000;
export const BURST_BOUND_MS = 180_000;
export const ECHO_TIMEOUT_MS = 10_000;
