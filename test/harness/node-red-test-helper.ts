import * as path from 'node:path';

/**
 * node-red-node-test-helper, typed and wired for jest. It runs the Node-RED
 * runtime in-process (fast, no child process): good for unit-testing one
 * node's logic; use startNodeRed() for anything that needs the real editor,
 * admin API, persistence or restarts.
 *
 * The package ships no type declarations; this is the part we use.
 */
export interface TestFlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface HelperNode {
  id: string;
  type: string;
  receive(msg: Record<string, unknown>): void;
  on(event: 'input', listener: (msg: Record<string, any>) => void): void;
  on(event: string, listener: (...args: any[]) => void): void;
  credentials?: Record<string, unknown>;
}

/** A node module: `module.exports = function (RED) { … }`. */
export type NodeModule = (RED: unknown) => void;

export interface NodeRedTestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: NodeModule | NodeModule[], flow: TestFlowNode[], credentials?: Record<string, Record<string, unknown>>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): HelperNode | undefined;
  url(): string;
  /** Set by init() when the runtime was found; the helper swallows init errors otherwise. */
  _RED?: { version(): string };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper: NodeRedTestHelper = require('node-red-node-test-helper');

/** Where Node-RED's core nodes live (hoisted beside node-red in node_modules). */
const coreNodesDir = path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [path.dirname(require.resolve('node-red'))] }));

/** A built-in node module, e.g. coreNode('common/20-inject.js'). */
export function coreNode(relative: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(coreNodesDir, 'core', relative));
}

/**
 * Points the helper at the project's node-red and registers the jest hooks:
 * one in-process server per test file, flows unloaded after each test.
 */
export function useNodeRedTestHelper(): NodeRedTestHelper {
  helper.init(require.resolve('node-red'));
  if (!helper._RED) {
    throw new Error('node-red-node-test-helper could not load node-red (see the console output above for the cause)');
  }
  beforeAll(() => helper.startServer());
  afterEach(() => helper.unload());
  afterAll(() => helper.stopServer());
  return helper;
}

/** Resolves with the next message a node receives, or rejects after `timeoutMs`. */
export function nextMessage(node: HelperNode, timeoutMs = 2_000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.on('input', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}
