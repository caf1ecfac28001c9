/**
 * Small helpers for node-red-node-test-helper flows: every node is put on one
 * tab with x/y (without them Node-RED treats a node as a config node).
 */
import { helper, type HelperNode, type TestFlowNode } from '../harness/node-red-test-helper';

export const TAB = 'tab1';

export function onTab(nodes: Array<Omit<TestFlowNode, 'z'> & { config?: boolean }>): TestFlowNode[] {
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

/** Records every status a node sets (the runtime calls node.status through the node object). */
export function recordStatuses(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const target = node(id) as unknown as { status(s: unknown): void };
  const seen: Array<{ fill?: string; shape?: string; text?: string }> = [];
  const original = target.status.bind(target);
  target.status = (status: any) => {
    seen.push(status);
    original(status);
  };
  return seen;
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
