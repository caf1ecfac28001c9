import * as path from 'node:path';
import { harnessFixtureRoot } from './fixtures';
import { coreNode, NodeModule, nextMessage, useNodeRedTestHelper } from './node-red-test-helper';

// node-red-node-test-helper inside jest (not mocha): inject → function → helper.
describe('node-red-node-test-helper under jest', () => {
  const helper = useNodeRedTestHelper();
  const inject = coreNode('common/20-inject.js');
  const fn = coreNode('function/10-function.js');

  it('runs built-in nodes: inject → function → helper node', async () => {
    await helper.load(
      [inject, fn],
      [
        { id: 'inj', type: 'inject', payload: '20', payloadType: 'num', once: false, wires: [['fn']] },
        { id: 'fn', type: 'function', func: 'msg.payload = msg.payload * 2 + 2; return msg;', outputs: 1, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
    );
    const out = helper.getNode('out')!;
    const received = nextMessage(out);
    // What the editor's inject button does.
    helper.getNode('inj')!.receive({});
    expect((await received).payload).toBe(42);
  });

  it('loads our kind of node module with credentials', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const echo: NodeModule = require(path.join(harnessFixtureRoot, 'node-red', 'harness-echo.js'));
    await helper.load(
      echo,
      [
        { id: 'e', type: 'harness-echo', prefix: '>', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { e: { secret: 'x' } },
    );
    const received = nextMessage(helper.getNode('out')!);
    helper.getNode('e')!.receive({ payload: 'hi' });
    const msg = await received;
    expect(msg.payload).toBe('>hi');
    expect(msg.harness).toMatchObject({ seen: 1, hasSecret: true });
  });
});
