/**
 * FlowCompletion (node-red/lib/flow-completion.ts) in the real Node-RED 5
 * message router: node-red-node-test-helper runs the runtime in-process, and
 * the tracker gets the runtime's own hooks module (the helper's RED object
 * has none, so ilink-in itself does not wait there).
 */
import { FlowCompletion, type MessageHooks } from '../../node-red/lib/flow-completion';
import { coreNode, helper, type NodeModule } from '../harness/node-red-test-helper';
import { onTab } from './flow-util';
import { useHelper } from './use-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hooks = (require('@node-red/util') as { hooks: MessageHooks }).hooks;

type Held = { msg: Record<string, any>; send: (msg: unknown) => void; done: (error?: Error) => void };
const held = new Map<string, Held[]>();

/** 'hold': keeps each msg (and its send/done) until the test lets it go. 'nodone': passes the msg on, never calls done. */
const testNodes: NodeModule = (RED: any) => {
  RED.nodes.registerType('hold', function (this: any, def: any) {
    RED.nodes.createNode(this, def);
    this.on('input', (msg: Record<string, any>, send: Held['send'], done: Held['done']) => {
      held.set(def.id, [...(held.get(def.id) ?? []), { msg, send, done }]);
    });
  });
  RED.nodes.registerType('nodone', function (this: any, def: any) {
    RED.nodes.createNode(this, def);
    this.on('input', (msg: Record<string, any>, send: Held['send'], _done: Held['done']) => send(msg));
  });
};
const nodes = [testNodes, coreNode('function/10-switch.js'), coreNode('common/25-catch.js')];

const tick = () => new Promise((r) => setImmediate(r));
async function settled<T>(promise: Promise<T>): Promise<T | 'pending'> {
  for (let i = 0; i < 5; i++) await tick();
  return Promise.race([promise, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}
const take = (id: string): Held => {
  const list = held.get(id) ?? [];
  const first = list.shift();
  if (!first) throw new Error(`${id} holds no msg`);
  return first;
};

describe('FlowCompletion in the Node-RED 5 router', () => {
  useHelper('node-red-flow-completion');
  afterEach(() => held.clear());

  async function load(flow: Array<{ id: string; type: string; [key: string]: unknown }>, timeoutMs?: number) {
    await helper.load(nodes, onTab([{ id: 'src', type: 'helper', wires: [['first']] }, ...flow]) as any);
    const source = helper.getNode('src') as unknown as { send(msg: unknown): void };
    const completion = new FlowCompletion(hooks, timeoutMs);
    return (msg: Record<string, unknown> = { payload: 'x' }, cancel?: AbortSignal) => completion.send(msg, (m) => source.send(m), { cancel });
  }

  it('waits until the last node of the chain calls done(), not just the first', async () => {
    const send = await load([
      { id: 'first', type: 'hold', wires: [['second']] },
      { id: 'second', type: 'hold', wires: [] },
    ]);
    const result = send();
    expect(await settled(result)).toBe('pending');
    const first = take('first');
    first.send(first.msg);
    first.done();
    expect(await settled(result)).toBe('pending');
    take('second').done();
    expect(await settled(result)).toBe('done');
  });

  it('follows the msg through a node without done() (the core switch node)', async () => {
    const send = await load([
      { id: 'first', type: 'switch', property: 'payload', propertyType: 'msg', rules: [{ t: 'nnull' }], checkall: 'true', outputs: 1, wires: [['second']] },
      { id: 'second', type: 'hold', wires: [] },
    ]);
    const result = send();
    await settled(result);
    expect(held.get('second')).toHaveLength(1);
    expect(await settled(result)).toBe('pending');
    take('second').done();
    expect(await settled(result)).toBe('done');
  });

  it('ends at once when nothing is wired', async () => {
    await helper.load(nodes, onTab([{ id: 'src', type: 'helper', wires: [] }]) as any);
    const source = helper.getNode('src') as unknown as { send(msg: unknown): void };
    expect(await new FlowCompletion(hooks).send({ payload: 'x' }, (m) => source.send(m))).toBe('done');
  });

  it('ends when the node ends with an error (Catch nodes are not waited for)', async () => {
    const send = await load([
      { id: 'first', type: 'hold', wires: [] },
      { id: 'catch', type: 'catch', scope: null, wires: [['late']] },
      { id: 'late', type: 'hold', wires: [] },
    ]);
    const result = send();
    expect(await settled(result)).toBe('pending');
    take('first').done(new Error('failed'));
    expect(await settled(result)).toBe('done');
    expect(held.get('late')).toHaveLength(1); // the Catch flow ran, and was not waited for
  });

  it('a node that takes done() but never calls it: one timeout, then it is no longer waited for', async () => {
    const send = await load([{ id: 'first', type: 'nodone', wires: [['second']] }, { id: 'second', type: 'helper' }], 150);
    const started = Date.now();
    expect(await send()).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const again = Date.now();
    expect(await send()).toBe('done');
    expect(Date.now() - again).toBeLessThan(100);
  });

  it('cancel ends the wait', async () => {
    const send = await load([{ id: 'first', type: 'hold', wires: [] }]);
    const cancel = new AbortController();
    const result = send({ payload: 'x' }, cancel.signal);
    expect(await settled(result)).toBe('pending');
    cancel.abort();
    expect(await settled(result)).toBe('cancelled');
  });

  it('without hooks (an old runtime, the test helper) it sends and does not wait', async () => {
    await helper.load(nodes, onTab([{ id: 'src', type: 'helper', wires: [['first']] }, { id: 'first', type: 'hold', wires: [] }]) as any);
    const source = helper.getNode('src') as unknown as { send(msg: unknown): void };
    const completion = new FlowCompletion(undefined);
    expect(completion.available).toBe(false);
    expect(await completion.send({ payload: 'x' }, (m) => source.send(m))).toBe('done');
    await tick();
    expect(held.get('first')).toHaveLength(1);
  });
});
