/**
 * Small helpers for node-red-node-test-helper flows: every node is put on one
 * tab with x/y (without them Node-RED treats a node as a config node).
 */
import * as path from 'node:path';
import { helper, type HelperNode, type TestFlowNode } from '../harness/node-red-test-helper';

export const TAB = 'tab1';

export function onTab(nodes: Array<{ id: string; type: string; config?: boolean; [key: string]: unknown }>): TestFlowNode[] {
  return [
    { id: TAB, type: 'tab' },
    ...nodes.map(({ config, ...node }) => (config ? { z: TAB, ...node } : { z: TAB, x: 100, y: 100, wires: [], ...node })),
  ];
}

export function node(id: string): HelperNode {
  const found = helper.getNode(id);
  if (!found) throw new Error(`node ${id} is not in the flow (did it fail to start?)`);
  return found;
}

/** Collects every msg a helper node receives. */
export function collect(id: string): Array<Record<string, any>> {
  const seen: Array<Record<string, any>> = [];
  node(id).on('input', (msg) => seen.push(msg));
  return seen;
}

type Status = { fill?: string; shape?: string; text?: string };
const statusLog = new Map<string, Status[]>();
let statusHooked = false;

/**
 * Every status a node sets, from its constructor on (Node.prototype.status is
 * wrapped once, so statuses set before a test can reach the node are kept).
 */
export function recordStatuses(id: string): Status[] {
  if (!statusHooked) {
    statusHooked = true;
    const runtimeDir = path.dirname(require.resolve('@node-red/runtime/package.json', { paths: [path.dirname(require.resolve('node-red'))] }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const NodeClass = require(path.join(runtimeDir, 'lib', 'nodes', 'Node.js'));
    const original = NodeClass.prototype.status;
    NodeClass.prototype.status = function (this: { id: string }, status: Status) {
      const list = statusLog.get(this.id) ?? [];
      list.push(status);
      statusLog.set(this.id, list);
      return original.call(this, status);
    };
  }
  let list = statusLog.get(id);
  if (!list) {
    list = [];
    statusLog.set(id, list);
  }
  return list;
}

/** Forgets recorded statuses (node ids repeat between tests). */
export function clearStatuses(): void {
  statusLog.clear();
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
