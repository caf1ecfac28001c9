/**
 * The credential's "Test" button inside a real n8n 2.41.1 with the package
 * installed as a community package, against the strict simulator: n8n runs the
 * nodes' `testedBy` test (the core's checkCredentials), called as the editor
 * calls it (POST /rest/credentials/test). A working token
 * passes; every answer that is not a working bot fails with what to do next
 * (also a 200 whose ret is not 0, which a declarative test let through); an
 * unreachable base URL fails naming it; no bot token in any message or the log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Endpoint, joinUrl } from '../../shared';
import { startSimulator, type Simulator } from '../../simulator';
import type { BotInfo } from '../../simulator/state';
import { startN8n, type N8nInstance } from '../harness/n8n';
import { outputDir, projectRoot } from '../harness/output';
import { freePort } from '../harness/ports';
import { CREDENTIAL_NAME } from '../../credentials/wechat-ilink-fields';
import { CREDENTIAL_TEST_NAME, testWechatIlinkCredential } from '../../credentials/wechat-ilink-credential-test';
import { WeChatIlink } from '../../nodes/WeChatIlink/WeChatIlink.node';
import { WeChatIlinkTrigger } from '../../nodes/WeChatIlinkTrigger/WeChatIlinkTrigger.node';
import { CREDENTIAL_TYPE } from './workflows';

jest.setTimeout(120_000);

type TestAnswer = { status: string; message: string };

// n8n takes the test from whichever of the pack's nodes it looks at first: both must carry it,
// under the literal names their descriptions spell out for n8n's lint.
test('both nodes name the credential and carry the test their testedBy names', () => {
  for (const node of [new WeChatIlink(), new WeChatIlinkTrigger()]) {
    expect(node.description.credentials).toEqual([{ name: CREDENTIAL_NAME, required: true, testedBy: CREDENTIAL_TEST_NAME }]);
    expect(node.methods.credentialTest[CREDENTIAL_TEST_NAME]).toBe(testWechatIlinkCredential);
  }
});

describe('the WeChat iLink credential test in a real n8n', () => {
  let sim: Simulator;
  let n8n: N8nInstance;
  const tokens: string[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true });
    // Installed as users install it (Settings → Community Nodes, or npm in ~/.n8n/nodes): n8n
    // finds a node's testedBy only for such a package, not for a custom extensions folder.
    const runDir = outputDir('n8n-credential-test');
    const userFolder = path.join(runDir, 'user');
    const installed = path.join(userFolder, '.n8n', 'nodes', 'node_modules');
    fs.mkdirSync(installed, { recursive: true });
    fs.symlinkSync(projectRoot, path.join(installed, 'n8n-nodes-wechat-ilink'), 'dir');
    const noCustomExtensions = path.join(runDir, 'custom');
    fs.mkdirSync(noCustomExtensions);
    n8n = await startN8n({ customExtensionDirs: [noCustomExtensions], userFolder, name: 'n8n-credential-test' });
  });

  afterAll(async () => {
    await n8n?.stop();
    await sim?.stop();
  });

  /** Stores the credential, then tests it as the editor does: its data sent back with its id. */
  async function testCredential(name: string, data: Record<string, unknown>): Promise<TestAnswer> {
    // The editor's API: the public one refuses the hidden fields a QR login writes.
    const stored = (await n8n.rest<{ data: { id: string } }>('POST', '/credentials', { name, type: CREDENTIAL_TYPE, data })).data;
    const answer = await n8n.rest<{ data: TestAnswer }>('POST', '/credentials/test', {
      credentials: { id: stored.id, name, type: CREDENTIAL_TYPE, data },
    });
    for (const token of tokens) expect(answer.data.message).not.toContain(token);
    return answer.data;
  }

  function typedToken(bot: BotInfo): Record<string, unknown> {
    tokens.push(bot.token);
    return { baseUrl: sim.apiBaseUrl, botToken: bot.token, botId: bot.botId, ownerUserId: bot.ownerUserId };
  }

  const LOG_IN_AGAIN = /Log in \(QR Code\)/;

  it('passes a working token and fails every answer that is not a working bot, saying to log in again', async () => {
    const bot = sim.admin.createBot({ ownerUserId: 'owner-ok@im.wechat' });
    expect(await testCredential('typed token', typedToken(bot))).toEqual({ status: 'OK', message: 'Connected: the bot token works.' });

    // A QR login's token is checked at the account's API base, not at the login host.
    const qrBot = sim.admin.createBot({ ownerUserId: 'owner-qr@im.wechat' });
    tokens.push(qrBot.token);
    const viaLogin = { baseUrl: `http://127.0.0.1:${await freePort()}`, loginToken: qrBot.token, accountBaseUrl: sim.apiBaseUrl, botId: qrBot.botId, ownerUserId: qrBot.ownerUserId };
    expect(await testCredential('QR login', viaLogin)).toMatchObject({ status: 'OK' });

    // The case a declarative test passed: HTTP 200, but ret is not 0.
    sim.admin.injectFault({ endpoint: 'getConfig', kind: 'ret', ret: -1 });
    const refused = await testCredential('ret -1', typedToken(bot));
    expect(refused.status).toBe('Error');
    expect(refused.message).toMatch(/ret -1/);
    expect(refused.message).toMatch(/did not accept this bot token; log in again/);
    expect(refused.message).toMatch(LOG_IN_AGAIN);

    sim.admin.injectFault({ endpoint: 'getConfig', kind: 'ret', ret: -14 });
    const retExpired = await testCredential('ret -14', typedToken(bot));
    expect(retExpired).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Session expired: scan the QR code again/) });
    expect(retExpired.message).toMatch(LOG_IN_AGAIN);

    // A token the server does not know (mistyped, or from another login) answers errcode -14.
    const unknown = await testCredential('unknown token', { ...typedToken(bot), botToken: `${bot.token}x` });
    tokens.push(`${bot.token}x`);
    expect(unknown).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Session expired/) });

    sim.admin.expireSession(bot.botId);
    const expired = await testCredential('expired', typedToken(bot));
    expect(expired).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Session expired/) });
    expect(expired.message).toMatch(LOG_IN_AGAIN);

    const empty = await testCredential('no token', { baseUrl: sim.apiBaseUrl });
    expect(empty).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Not logged in yet/) });

    for (const token of tokens) expect(n8n.logText()).not.toContain(token);
  });

  it("lends its iLink headers and base_info to n8n's HTTP Request node", async () => {
    const bot = sim.admin.createBot({ ownerUserId: 'owner-http@im.wechat' });
    const name = 'for HTTP Request';
    const stored = (await n8n.rest<{ data: { id: string } }>('POST', '/credentials', { name, type: CREDENTIAL_TYPE, data: typedToken(bot) })).data;
    const workflow = await n8n.createWorkflow(httpRequestWorkflow({ id: stored.id, name }, joinUrl(sim.apiBaseUrl, Endpoint.getConfig).toString(), bot.ownerUserId));
    await n8n.publishWorkflow(workflow.id);
    const answer = await n8n.waitForWebhook('getconfig-by-http-request', {}, 15_000);
    // The strict simulator refuses a body without base_info and a request without the bearer token.
    expect(answer).toMatchObject({ status: 200, body: { ret: 0 } });
    const [request] = sim.admin.requests({ endpoint: 'getConfig', botId: bot.botId }).slice(-1);
    expect(request?.body).toMatchObject({ ilink_user_id: bot.ownerUserId, base_info: { bot_agent: expect.stringMatching(/^n8n-nodes-wechat-ilink\//) } });
    await n8n.unpublishWorkflow(workflow.id);
  });

  it('fails on an unreachable API base URL, naming it', async () => {
    const bot = sim.admin.createBot({ ownerUserId: 'owner-far@im.wechat' });
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const answer = await testCredential('unreachable', { ...typedToken(bot), baseUrl: nowhere });
    expect(answer.status).toBe('Error');
    expect(answer.message).toContain(`could not check the bot token at ${nowhere}`);
    expect(answer.message).toMatch(/check the network and the API base URL/);
  });
});

/** Webhook → HTTP Request (this credential, a getconfig) → the answer as the webhook's response. */
function httpRequestWorkflow(credential: { id: string; name: string }, url: string, userId: string) {
  return {
    name: 'getconfig by HTTP Request',
    nodes: [
      {
        id: 'b0a7d1e0-0000-4000-8000-000000000001',
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: 'b0a7d1e0-0000-4000-8000-000000000002',
        parameters: { httpMethod: 'POST', path: 'getconfig-by-http-request', responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} },
      },
      {
        id: 'b0a7d1e0-0000-4000-8000-000000000003',
        name: 'HTTP Request',
        type: 'n8n-nodes-base.httpRequest',
        typeVersion: 4.2,
        position: [220, 0],
        parameters: {
          method: 'POST',
          url,
          authentication: 'predefinedCredentialType',
          nodeCredentialType: CREDENTIAL_TYPE,
          sendBody: true,
          specifyBody: 'json',
          jsonBody: JSON.stringify({ ilink_user_id: userId }),
          options: {},
        },
        credentials: { [CREDENTIAL_TYPE]: credential },
      },
    ],
    connections: { Webhook: { main: [[{ node: 'HTTP Request', type: 'main', index: 0 }]] } },
  };
}
