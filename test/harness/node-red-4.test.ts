import { fixtureFlow, harnessFixtureRoot } from './fixtures';
import { NodeRedInstance, startNodeRed } from './node-red';

jest.setTimeout(60_000);

// Node-RED 4 on Node 20 (scripts/hosts/install-node-red-4.sh): the previous
// major that many users still run. Not skipped when missing: startNodeRed
// throws with the install command.
describe('Node-RED 4 harness', () => {
  let red: NodeRedInstance;

  beforeAll(async () => {
    const t0 = Date.now();
    red = await startNodeRed({ version: 4, nodesDir: [harnessFixtureRoot] });
    console.log(`Node-RED ${red.runtimeVersion()} ready in ${Date.now() - t0} ms at ${red.url}`);
  });
  afterAll(async () => {
    await red?.stop();
  });

  it('runs Node-RED 4 on Node 20 and loads the fixture package', async () => {
    expect(red.runtimeVersion()).toMatch(/^4\.1\./);
    expect(red.logText()).toMatch(/Node\.js {2}version: v20\./);
    const sets = await red.nodes();
    expect(sets.find((s) => s.types.includes('harness-echo'))).toMatchObject({ module: 'harness-fixture', enabled: true });
  });

  it('deploys, injects and keeps the flow over a restart', async () => {
    await red.deploy(fixtureFlow(), { echo1: { secret: 's3cret' } });
    await red.injectNode('inj1');
    expect((await red.waitForLog(/payload: 'fixture:ping'[\s\S]*?hasSecret: (true|false)/))[1]).toBe('true');

    await red.restart();
    const res = await fetch(`${red.url}/harness-echo`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'v4' });
    expect(await res.text()).toBe('http:v4');
  });
});
