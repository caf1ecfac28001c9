/**
 * Loads test/harness/node-red.ts (startNodeRed), test/harness/n8n.ts
 * (startN8n) and test/harness/n8n-queue.ts (startN8nQueue) at run time. The
 * harness is not part of the main build, and its `projectRoot` is "two
 * folders above this file", so it is transpiled
 * (TypeScript's transpileModule, no type check) into
 * .test-output/bench-harness/, which sits exactly two levels below the project
 * root; its imports of scripts/ point at their built copies in dist/. Only the
 * types the benchmark uses are declared here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const projectRoot = path.resolve(__dirname, '..', '..');

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface NodeRedHandle {
  readonly url: string;
  readonly userDir: string;
  readonly logFile: string;
  runtimeVersion(): string;
  deploy(flows: FlowNode[], credentials?: Record<string, Record<string, unknown>>): Promise<{ rev: string }>;
  nodes(): Promise<Array<{ module: string; types: string[]; err?: string }>>;
  stop(): Promise<void>;
  logText(): string;
}

export interface HarnessNodeRed {
  startNodeRed(options: { version?: 4 | 5; nodesDir?: string[]; env?: Record<string, string>; name?: string; startTimeoutMs?: number }): Promise<NodeRedHandle>;
}

export interface N8nHandle {
  readonly url: string;
  readonly logFile: string;
  api<T = any>(method: string, apiPath: string, body?: unknown): Promise<T>;
  createCredential(name: string, type: string, data: Record<string, unknown>): Promise<{ id: string; name: string }>;
  createWorkflow(workflow: { name: string; nodes: Array<Record<string, unknown>>; connections: Record<string, unknown> }): Promise<{ id: string }>;
  publishWorkflow(id: string): Promise<unknown>;
  unpublishWorkflow(id: string): Promise<void>;
  stop(): Promise<void>;
  logText(): string;
}

export interface HarnessN8n {
  startN8n(options: { customExtensionDirs: string[]; env?: Record<string, string>; name?: string; startTimeoutMs?: number }): Promise<N8nHandle>;
}

export interface N8nQueueWorkerHandle {
  readonly index: number;
  readonly logFile: string;
  readonly pid: number;
  isRunning(): boolean;
  stop(): Promise<void>;
  /** Ids of the executions this worker has started, from its log. */
  executionIds(): string[];
}

export interface N8nQueueStackHandle {
  /** n8n main (UI, API, triggers): the same helpers as startN8n's instance. */
  readonly main: N8nHandle;
  readonly workers: N8nQueueWorkerHandle[];
  readonly startupMs: { postgresAndRedis: number; main: number; workers: number[] };
  addWorker(): Promise<N8nQueueWorkerHandle>;
  workerThatRan(executionId: string): N8nQueueWorkerHandle | undefined;
  logTails(lines?: number): string;
  stop(): Promise<void>;
}

export interface HarnessN8nQueue {
  startN8nQueue(options: { customExtensionDirs: string[]; workers?: number; env?: Record<string, string>; name?: string; startTimeoutMs?: number }): Promise<N8nQueueStackHandle>;
}

function transpileHarness(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const outDir = path.join(projectRoot, '.test-output', 'bench-harness');
  fs.mkdirSync(outDir, { recursive: true });
  const harnessDir = path.join(projectRoot, 'test', 'harness');
  // Every module of the harness (not the tests), so a new helper file it imports is there too.
  const names = fs.readdirSync(harnessDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3));
  for (const name of names) {
    const source = fs.readFileSync(path.join(harnessDir, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: `${name}.ts`,
    });
    const rewired = outputText.replace(/require\("\.\.\/\.\.\/scripts\/([^"]+)"\)/g, (_, rest: string) => `require(${JSON.stringify(path.join(__dirname, '..', 'scripts', rest))})`);
    fs.writeFileSync(path.join(outDir, `${name}.js`), rewired);
  }
  return outDir;
}

export function loadNodeRedHarness(): HarnessNodeRed {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(transpileHarness(), 'node-red.js')) as HarnessNodeRed;
}

export function loadN8nHarness(): HarnessN8n {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(transpileHarness(), 'n8n.js')) as HarnessN8n;
}

/**
 * Every relative require of `entry` in the transpiled folder, followed through the
 * files it reaches (n8n-queue.js → n8n.js, postgres.js, redis.js, parent-death.js,
 * host-process.js, ports.js, output.js, …); throws naming what does not resolve,
 * rather than leaving it to a bare "Cannot find module" in the middle of a run.
 */
function checkTranspiledImports(outDir: string, entry: string): string[] {
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (file: string, from: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const full = path.join(outDir, file);
    if (!fs.existsSync(full)) {
      missing.push(`${file} (required by ${from})`);
      return;
    }
    for (const m of fs.readFileSync(full, 'utf8').matchAll(/require\("\.\/([^"]+)"\)/g)) visit(m[1]!.endsWith('.js') ? m[1]! : `${m[1]}.js`, file);
    // Rewired imports of scripts/ are absolute paths into dist/.
    for (const m of fs.readFileSync(full, 'utf8').matchAll(/require\("(\/[^"]+)"\)/g)) {
      if (!fs.existsSync(m[1]!) && !fs.existsSync(`${m[1]}.js`)) missing.push(`${m[1]} (required by ${file}; run npm run build)`);
    }
    // Anything else above the folder was not rewired and would resolve against .test-output/.
    for (const m of fs.readFileSync(full, 'utf8').matchAll(/require\("(\.\.\/[^"]+)"\)/g)) missing.push(`${m[1]} (required by ${file}, not rewired)`);
  };
  visit(entry, 'the bench');
  if (missing.length) throw new Error(`bench harness in ${outDir}: cannot resolve ${missing.join(', ')}`);
  return [...seen];
}

/** test/harness/n8n-queue.ts (startN8nQueue: Postgres + Redis + n8n main + workers), its imports checked first. */
export function loadN8nQueueHarness(): HarnessN8nQueue {
  const outDir = transpileHarness();
  checkTranspiledImports(outDir, 'n8n-queue.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(outDir, 'n8n-queue.js')) as HarnessN8nQueue;
}
