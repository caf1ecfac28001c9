/** node-red-node-test-helper for our node tests: one server per file, a userDir for state files. */
import { outputDir } from '../harness/output';
import { coreNode, helper, type NodeModule } from '../harness/node-red-test-helper';
import { clearStatuses, recordStatuses } from './flow-util';

/* eslint-disable @typescript-eslint/no-require-imports */
export const nodes = {
  config: require('../../node-red/ilink-config') as NodeModule,
  in: require('../../node-red/ilink-in') as NodeModule,
  send: require('../../node-red/ilink-send') as NodeModule,
  media: require('../../node-red/ilink-media') as NodeModule,
  typing: require('../../node-red/ilink-typing') as NodeModule,
  recall: require('../../node-red/ilink-recall') as NodeModule,
  catch: coreNode('common/25-catch.js'),
  status: coreNode('common/25-status.js'),
};
export const allNodes = Object.values(nodes);

export function useHelper(name: string): { userDir: string } {
  const userDir = outputDir(name);
  helper.init(require.resolve('node-red'), { userDir });
  beforeAll(() => {
    recordStatuses('-'); // installs the status recorder before any node exists
    return helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    clearStatuses();
  });
  afterAll(() => helper.stopServer());
  return { userDir };
}
