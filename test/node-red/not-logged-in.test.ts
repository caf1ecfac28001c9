import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputDir } from '../harness/output';
import { coreNode, helper, nextMessage, type NodeModule } from '../harness/node-red-test-helper';
import { onTab } from './flow-util';

/* eslint-disable @typescript-eslint/no-require-imports */
const configNode: NodeModule = require('../../node-red/ilink-config');
const inNode: NodeModule = require('../../node-red/ilink-in');
const sendNode: NodeModule = require('../../node-red/ilink-send');

// A bot that was never logged in: the nodes say what to do, in status and through Catch.
describe('ilink nodes without a token', () => {
  const userDir = outputDir('node-red-no-token');
  helper.init(require.resolve('node-red'), { userDir });
  beforeAll(() => helper.startServer());
  afterEach(() => helper.unload());
  afterAll(() => helper.stopServer());
  const catchNode = coreNode('common/25-catch.js');

  it('ilink-in turns red and raises "not logged in" to a Catch node', async () => {
    await helper.load(
      [configNode, inNode, catchNode],
      onTab([
        { id: 'bot', type: 'ilink-config', config: true, baseUrl: 'http://127.0.0.1:9' },
        { id: 'catch', type: 'catch', scope: null, wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'in', type: 'ilink-in', bot: 'bot', wires: [[]] },
      ]),
    );
    const caught = await nextMessage(helper.getNode('out')!, 5_000).catch(() => undefined);
    // The error is raised while the flow starts; the Catch node may already have passed it on.
    expect(caught?.error?.message ?? '').toMatch(/not logged in/);
  });

  it('ilink-send fails through done(err) with a clear message', async () => {
    await helper.load(
      [configNode, sendNode, catchNode],
      onTab([
        { id: 'bot', type: 'ilink-config', config: true },
        { id: 'send', type: 'ilink-send', bot: 'bot' },
        { id: 'catch', type: 'catch', scope: null, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
    );
    const caught = nextMessage(helper.getNode('out')!);
    helper.getNode('send')!.receive({ payload: 'hi', to: 'u@im.wechat' });
    expect((await caught).error.message).toMatch(/not logged in.*Log in with WeChat/);
    expect(fs.existsSync(path.join(userDir, 'wechat-ilink'))).toBe(false);
  });
});
