import { harnessFixtureN8nDir } from './fixtures';
import { N8nInstance, startN8n } from './n8n';

// n8n start takes ~15–20 s on a fresh database; restart ~12 s.
jest.setTimeout(120_000);

function echoWorkflow(credentialId: string) {
  return {
    name: 'harness echo',
    nodes: [
      {
        id: 'a1b2c3d4-0000-4000-8000-000000000001',
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: 'a1b2c3d4-0000-4000-8000-0000000000aa',
        parameters: { httpMethod: 'POST', path: 'harness-echo', responseMode: 'lastNode', options: {} },
      },
      {
        id: 'a1b2c3d4-0000-4000-8000-000000000002',
        name: 'Harness Echo',
        // Nodes loaded from N8N_CUSTOM_EXTENSIONS get the CUSTOM. prefix.
        type: 'CUSTOM.harnessEcho',
        typeVersion: 1,
        position: [200, 0],
        parameters: { prefix: 'n8n:' },
        credentials: { harnessEchoApi: { id: credentialId, name: 'harness credential' } },
      },
    ],
    connections: { Webhook: { main: [[{ node: 'Harness Echo', type: 'main', index: 0 }]] } },
  };
}

describe('n8n harness', () => {
  let n8n: N8nInstance;

  beforeAll(async () => {
    const t0 = Date.now();
    n8n = await startN8n({ customExtensionDirs: [harnessFixtureN8nDir] });
    console.log(`n8n ready (owner + API key) in ${Date.now() - t0} ms at ${n8n.url}`);
  });
  afterAll(async () => {
    await n8n?.stop();
  });

  it('loads the fixture node and credential from N8N_CUSTOM_EXTENSIONS', async () => {
    const schema = await n8n.api('GET', '/credentials/schema/harnessEchoApi');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['greeting', 'secret']));
    expect(n8n.logText()).not.toMatch(/harnessEcho.*(error|failed)/i);
  });

  it('runs a webhook workflow through the fixture node, then survives a restart', async () => {
    const credential = await n8n.createCredential('harness credential', 'harnessEchoApi', { greeting: 'ni hao', secret: 'x' });
    const workflow = await n8n.createWorkflow(echoWorkflow(credential.id));
    const published = await n8n.publishWorkflow(workflow.id);
    expect(published.active).toBe(true);

    // The webhook is registered a moment after publish answers (~0.6 s): poll.
    await n8n.waitForWebhookRegistered('harness-echo', true, 10_000);
    const answer = await n8n.callWebhook('harness-echo', { text: 'hi' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ echoed: 'n8n:{"text":"hi"}', greeting: 'ni hao', n8nNode: 'harnessEcho' });
    const [execution] = await n8n.waitForExecutions(workflow.id, 1, 10_000);
    expect(execution.status).toBe('success');
    expect(execution.data.resultData.runData['Harness Echo'][0].data.main[0][0].json.greeting).toBe('ni hao');

    const t0 = Date.now();
    await n8n.restart();
    console.log(`n8n restarted in ${Date.now() - t0} ms`);
    // The published workflow re-registers its webhook by itself after a restart.
    const again = await n8n.waitForWebhook('harness-echo', { text: 'again' });
    console.log(`webhook live again ${Date.now() - t0} ms after restart began`);
    expect(again.body).toMatchObject({ echoed: 'n8n:{"text":"again"}' });
    expect(await n8n.waitForExecutions(workflow.id, 2, 10_000)).toHaveLength(2);

    await n8n.unpublishWorkflow(workflow.id);
    await n8n.waitForWebhookRegistered('harness-echo', false, 10_000);
    expect((await n8n.callWebhook('harness-echo')).status).toBe(404);
  });
});
