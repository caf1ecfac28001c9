import { harnessFixtureN8nDir } from './fixtures';
import { N8nQueueStack, startN8nQueue } from './n8n-queue';

// One stack for the whole file (Postgres + Redis + main + worker start in ~60 s here).
jest.setTimeout(180_000);

const WEBHOOK_PATH = 'queue-echo';

function echoWorkflow(credentialId: string) {
  return {
    name: 'queue echo',
    nodes: [
      {
        id: 'b1b2c3d4-0000-4000-8000-000000000001',
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: 'b1b2c3d4-0000-4000-8000-0000000000aa',
        parameters: { httpMethod: 'POST', path: WEBHOOK_PATH, responseMode: 'lastNode', options: {} },
      },
      {
        id: 'b1b2c3d4-0000-4000-8000-000000000002',
        name: 'Harness Echo',
        // A custom node with a credential: the worker must load our extension folder and
        // decrypt the credential with the key it shares with main.
        type: 'CUSTOM.harnessEcho',
        typeVersion: 1,
        position: [200, 0],
        parameters: { prefix: 'queue:' },
        credentials: { harnessEchoApi: { id: credentialId, name: 'queue credential' } },
      },
    ],
    connections: { Webhook: { main: [[{ node: 'Harness Echo', type: 'main', index: 0 }]] } },
  };
}

describe('n8n queue mode harness (Postgres + Redis + main + workers)', () => {
  let stack: N8nQueueStack;
  let workflowId: string;

  /** Calls the webhook, then finds the new execution and the worker that ran it. */
  async function runOnce(text: string) {
    const before = (await stack.main.api('GET', `/executions?workflowId=${workflowId}&limit=100`)).data.length;
    const answer = await stack.main.callWebhook(WEBHOOK_PATH, { text });
    expect(answer).toMatchObject({ status: 200, body: { echoed: `queue:{"text":"${text}"}`, greeting: 'ni hao' } });
    const [execution] = await stack.main.waitForExecutions(workflowId, before + 1, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${stack.logTails()}`);
    });
    return { execution, worker: stack.workerThatRan(execution.id) };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await startN8nQueue({
      customExtensionDirs: [harnessFixtureN8nDir],
      workers: 1,
      // Re-activation after main's restart within ~1 s instead of the 15 s outbox poll.
      env: { N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '1000' },
    });
    console.log(`queue stack ready in ${Date.now() - t0} ms: ${JSON.stringify(stack.startupMs)}`);

    const credential = await stack.main.createCredential('queue credential', 'harnessEchoApi', { greeting: 'ni hao', secret: 'x' });
    workflowId = (await stack.main.createWorkflow(echoWorkflow(credential.id))).id;
    await stack.main.publishWorkflow(workflowId);
    await stack.main.waitForWebhookRegistered(WEBHOOK_PATH, true, 10_000);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('runs a webhook execution on the worker, not in main', async () => {
    const { execution, worker } = await runOnce('one worker');
    expect(execution).toMatchObject({ status: 'success', mode: 'webhook' });
    expect(execution.data.resultData.runData['Harness Echo'][0].data.main[0][0].json.greeting).toBe('ni hao');
    expect(worker?.index).toBe(1);
    expect(stack.main.logText()).not.toMatch(/Worker started execution/);
  });

  it('binary data received by main is read by the worker (binary data mode `database`)', async () => {
    // Measured: with N8N_DEFAULT_BINARY_DATA_MODE=filesystem main stores the upload in its own
    // folder and the worker's Extract From File fails with "File not found".
    const workflow = await stack.main.createWorkflow({
      name: 'queue binary',
      nodes: [
        {
          id: 'b1b2c3d4-0000-4000-8000-000000000011',
          name: 'Webhook',
          type: 'n8n-nodes-base.webhook',
          typeVersion: 2,
          position: [0, 0],
          webhookId: 'b1b2c3d4-0000-4000-8000-0000000000bb',
          parameters: { httpMethod: 'POST', path: 'queue-binary', responseMode: 'lastNode', options: { binaryData: true } },
        },
        {
          id: 'b1b2c3d4-0000-4000-8000-000000000012',
          name: 'Extract',
          type: 'n8n-nodes-base.extractFromFile',
          typeVersion: 1,
          position: [200, 0],
          parameters: { operation: 'text', binaryPropertyName: 'data', destinationKey: 'text' },
        },
      ],
      connections: { Webhook: { main: [[{ node: 'Extract', type: 'main', index: 0 }]] } },
    });
    await stack.main.publishWorkflow(workflow.id);
    await stack.main.waitForWebhookRegistered('queue-binary', true, 10_000);
    // octet-stream: n8n leaves the body unparsed, so the Webhook node stores it as binary data.
    const res = await fetch(`${stack.main.url}/webhook/queue-binary`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: '你好 binary',
    });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { text: '你好 binary' } });
    const [execution] = await stack.main.waitForExecutions(workflow.id, 1, 10_000);
    expect(execution.data.resultData.runData.Webhook[0].data.main[0][0].binary.data.id).toMatch(/^database:/);
    expect(stack.workerThatRan(execution.id)?.index).toBe(1);
    await stack.main.unpublishWorkflow(workflow.id);
  });

  it('with no worker alive, the execution waits in Redis until a worker starts', async () => {
    const [worker] = stack.workers;
    await worker.kill();
    const pending = stack.main.callWebhook(WEBHOOK_PATH, { text: 'queued' });
    // Bull's wait list holds the job; main does not run it itself.
    await waitFor(async () => (await stack.redis.command('LLEN bull:jobs:wait')) === ':1', 10_000, 'the job in bull:jobs:wait');
    // The public API leaves out executions no worker has started yet; the UI's REST lists them as `new`.
    const filter = encodeURIComponent(JSON.stringify({ workflowId }));
    const [waiting] = (await stack.main.rest('GET', `/executions?filter=${filter}`)).data.results;
    expect(waiting.status).toBe('new');

    const t0 = Date.now();
    await worker.start();
    console.log(`worker restarted after SIGKILL in ${Date.now() - t0} ms`);
    expect((await pending).body).toMatchObject({ echoed: 'queue:{"text":"queued"}' });
    expect(stack.workerThatRan(waiting.id)).toBe(worker);
  });

  it('with two workers, a SIGKILLed one leaves the work to the other', async () => {
    const t0 = Date.now();
    const second = await stack.addWorker();
    console.log(`second worker ready in ${Date.now() - t0} ms`);
    const [first] = stack.workers;

    await first.kill();
    expect((await runOnce('second worker')).worker).toBe(second);
    await first.start();
    await second.kill();
    expect((await runOnce('first worker')).worker).toBe(first);
    await second.start();
  });

  it('main SIGKILLed and started again on the same database keeps the workflow and its executions', async () => {
    // A kill right after a publish leaves the publication "in progress" (see README): wait it out.
    await waitFor(
      async () => (await stack.main.rest('GET', `/workflows/${workflowId}/publication-status`)).data.status === 'published',
      10_000,
      'publication-status published',
    );
    const before = await stack.main.waitForExecutions(workflowId, 4, 10_000);
    await stack.main.kill();
    const t0 = Date.now();
    await stack.main.restart();
    console.log(`main restarted after SIGKILL in ${Date.now() - t0} ms`);

    const workflow = await stack.main.api('GET', `/workflows/${workflowId}`);
    expect(workflow).toMatchObject({ id: workflowId, active: true });
    const after = await stack.main.waitForExecutions(workflowId, before.length, 10_000);
    expect(after.map((e) => e.id)).toEqual(before.map((e) => e.id));

    await stack.main.waitForWebhookRegistered(WEBHOOK_PATH, true, 30_000);
    console.log(`webhook live again ${Date.now() - t0} ms after the restart began`);
    const { worker } = await runOnce('after main restart');
    expect(worker).toBeDefined();
  });

  async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${stack.logTails()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
});
