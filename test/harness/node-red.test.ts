import { fixtureFlow, harnessFixtureRoot } from './fixtures';
import { NodeRedInstance, startNodeRed } from './node-red';

jest.setTimeout(60_000);

describe('Node-RED 5 harness', () => {
  let red: NodeRedInstance;

  beforeAll(async () => {
    const t0 = Date.now();
    red = await startNodeRed({ nodesDir: [harnessFixtureRoot] });
    console.log(`Node-RED ${red.runtimeVersion()} ready in ${Date.now() - t0} ms at ${red.url}`);
  });
  afterAll(async () => {
    await red?.stop();
  });

  it('runs the real runtime and loads the fixture package from nodesDir', async () => {
    expect(red.runtimeVersion()).toMatch(/^5\./);
    const sets = await red.nodes();
    const fixture = sets.find((s) => s.types.includes('harness-echo'));
    expect(fixture).toMatchObject({ module: 'harness-fixture', enabled: true });
    expect(fixture?.err).toBeUndefined();
  });

  it('deploys a flow, fires the inject node and sees the fixture output', async () => {
    await red.deploy(fixtureFlow(), { echo1: { secret: 's3cret' } });
    await red.injectNode('inj1');
    const line = await red.waitForLog(/payload: 'fixture:ping'[\s\S]*?hasSecret: (true|false)/);
    expect(line[1]).toBe('true');

    const res = await fetch(`${red.url}/harness-echo`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(await res.text()).toBe('http:hi');
  });

  it('keeps the deployed flow and credentials across a restart', async () => {
    const before = await red.getFlows();
    const t0 = Date.now();
    await red.restart();
    console.log(`Node-RED restarted in ${Date.now() - t0} ms`);
    const after = await red.getFlows();
    expect(after.rev).toBe(before.rev);
    expect(after.flows.map((n) => n.id).sort()).toEqual(before.flows.map((n) => n.id).sort());
    // The credential was stored encrypted in the userDir and decrypted again.
    await red.injectNode('inj1');
    const line = await red.waitForLog(/payload: 'fixture:ping'[\s\S]*?hasSecret: (true|false)/);
    expect(line[1]).toBe('true');
  });
});
