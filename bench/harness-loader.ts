/**
 * Loads test/harness/node-red.ts (startNodeRed) and test/harness/n8n.ts
 * (startN8n) at run time. The harness is not part of the main build, and its
 * `projectRoot` is "two folders above this file", so it is transpiled
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
