import * as path from 'node:path';
import type { NodeRedFlowNode } from './node-red';
import { projectRoot } from './output';

/** The throwaway fixture package that proves both hosts load our kind of package. */
export const harnessFixtureRoot = path.join(projectRoot, 'test', 'fixtures', 'hosts', 'harness-fixture');

/** Only the compiled n8n files: n8n's glob must not wander into node_modules. */
export const harnessFixtureN8nDir = path.join(harnessFixtureRoot, 'n8n');

/** inject → harness-echo → debug(console), and http in → harness-echo → http response. */
export function fixtureFlow(): NodeRedFlowNode[] {
  return [
    { id: 'tab1', type: 'tab', label: 'harness' },
    { id: 'inj1', type: 'inject', z: 'tab1', payload: 'ping', payloadType: 'str', repeat: '', once: false, topic: '', props: [{ p: 'payload' }], wires: [['echo1']] },
    { id: 'echo1', type: 'harness-echo', z: 'tab1', name: '', prefix: 'fixture:', wires: [['dbg1']] },
    // console: true puts the message in the runtime log, which the test reads.
    { id: 'dbg1', type: 'debug', z: 'tab1', active: true, tosidebar: false, console: true, tostatus: false, complete: 'true', targetType: 'full', wires: [] },
    { id: 'httpin1', type: 'http in', z: 'tab1', url: '/harness-echo', method: 'post', upload: false, wires: [['echo2']] },
    { id: 'echo2', type: 'harness-echo', z: 'tab1', name: '', prefix: 'http:', wires: [['httpout1']] },
    { id: 'httpout1', type: 'http response', z: 'tab1', statusCode: '', headers: {}, wires: [] },
  ];
}
