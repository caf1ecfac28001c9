/**
 * Loads test/harness/node-red.ts (startNodeRed) at run time. The harness is
 * not part of the main build, and its `projectRoot` is "two folders above this
 * file", so it is transpiled (TypeScript's transpileModule, no type check)
 * into .test-output/bench-harness/, which sits exactly two levels below the
 * project root. Only the types the benchmark uses are declared here.
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

const FILES = ['node-red', 'host-process', 'node-binaries', 'node-red-settings', 'output', 'ports'];

export function loadNodeRedHarness(): HarnessNodeRed {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const outDir = path.join(projectRoot, '.test-output', 'bench-harness');
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of FILES) {
    const source = fs.readFileSync(path.join(projectRoot, 'test', 'harness', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: `${name}.ts`,
    });
    fs.writeFileSync(path.join(outDir, `${name}.js`), outputText);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(outDir, 'node-red.js')) as HarnessNodeRed;
}
