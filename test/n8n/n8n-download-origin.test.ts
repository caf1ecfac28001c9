/**
 * Media → Download behind a public webhook, in a real n8n 2.41.1: the webhook's
 * body becomes the item, so whoever calls it writes the "message". An item whose
 * full_url points at another server (a recording server on 127.0.0.1) must fail
 * the node, not make n8n GET that URL and hand back the body. With Continue On
 * Fail the item carries the error; without it the execution fails on the node.
 * A real message still downloads through the same workflows.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { toItem } from '../../shared/messages';
import { startSimulator, type Simulator } from '../../simulator';
import { startN8n, type N8nInstance } from '../harness/n8n';
import { projectRoot } from '../harness/output';
import { simulatorCredential } from './n8n-fault-helpers';
import { ACTION_NODE, actionWorkflow } from './n8n-fault-workflows';

jest.setTimeout(180_000);

let sim: Simulator;
let n8n: N8nInstance;
let elsewhere: Server;
let elsewhereUrl = '';
const hits: string[] = [];
const workflowIds = new Map<boolean, string>();
const pathFor = (continueOnFail: boolean) => `download-origin-${continueOnFail ? 'cof' : 'stop'}`;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, strict: true });
  n8n = await startN8n({ customExtensionDirs: [path.join(projectRoot, 'dist')], name: 'n8n-download-origin' });
  // What an attacker would aim at: answers with something worth stealing, and records every request.
  elsewhere = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end('{"AccessKeyId":"internal-only"}');
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  const credential = await simulatorCredential(n8n, sim, sim.admin.createBot(), 'download origin bot');
  for (const continueOnFail of [true, false]) {
    const workflow = await n8n.createWorkflow(actionWorkflow(credential, pathFor(continueOnFail), 'download', continueOnFail));
    await n8n.publishWorkflow(workflow.id);
    workflowIds.set(continueOnFail, workflow.id);
  }
  for (const continueOnFail of [true, false]) await n8n.waitForWebhookRegistered(pathFor(continueOnFail), true, 15_000);
});

afterAll(async () => {
  await n8n?.stop();
  await sim?.stop();
  elsewhere?.closeAllConnections();
  await new Promise<void>((resolve) => (elsewhere ? elsewhere.close(() => resolve()) : resolve()));
});

test('a webhook item whose full_url is off the CDN: the node errors (Continue On Fail: the item carries it), nothing is fetched', async () => {
  const message = (items: unknown[]) => ({ messageId: '9001', from: 'alice@im.wechat', text: '', contextToken: 'ctx', items });
  // A real message downloads: the workflows work, and the check lets the CDN through.
  const real = toItem(await sim.cdn.encryptAndStore(Buffer.from('quarterly numbers\n'.repeat(100)), { kind: 'file', fileName: 'numbers.csv' }));
  const ok = await n8n.callWebhook(pathFor(false), message([real]));
  expect(ok.status).toBe(200);
  expect(ok.body.media).toMatchObject({ kind: 'file', fileName: 'numbers.csv', size: 1800 });

  // The shape the trigger outputs, written by the caller: an unkeyed image, which would come back as plain bytes.
  const hostile = message([{ type: 'image', wireType: 2, image: { media: { fullUrl: `${elsewhereUrl}/latest/meta-data/iam/security-credentials/` } } }]);
  const refused = new RegExp(`^the download URL \\(full_url\\) is not on the CDN: it points to ${elsewhereUrl}, and media is only downloaded from ${new URL(sim.cdnBaseUrl).origin} or https://novac2c\\.cdn\\.weixin\\.qq\\.com; pass the message on unchanged`);

  const continued = await n8n.callWebhook(pathFor(true), hostile);
  expect(continued.status).toBe(200);
  expect(continued.body.error).toMatch(refused);
  expect(continued.body.media).toBeUndefined();
  const [continuedRun] = await n8n.waitForExecutions(workflowIds.get(true)!, 1);
  expect(continuedRun!.status).toBe('success');
  const out = continuedRun!.data.resultData.runData[ACTION_NODE][0].data.main[0][0];
  expect(out.json.error).toBe(continued.body.error);
  expect(out.binary).toBeUndefined();

  const stopped = await n8n.callWebhook(pathFor(false), hostile);
  expect(stopped.status).toBeGreaterThanOrEqual(500);
  const [stoppedRun] = await n8n.waitForExecutions(workflowIds.get(false)!, 2);
  expect(stoppedRun!.status).toBe('error');
  const error = stoppedRun!.data.resultData.error;
  expect(error.message).toBe(continued.body.error);
  // The caller's input is at fault, not the iLink server: an operation error on the item, not an API error.
  expect(error.name).toBe('NodeOperationError');
  expect(stoppedRun!.data.resultData.lastNodeExecuted).toBe(ACTION_NODE);

  expect(hits).toEqual([]);
  expect(JSON.stringify([continuedRun, stoppedRun])).not.toContain('internal-only');
});
