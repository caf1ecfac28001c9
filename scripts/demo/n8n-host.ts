/**
 * n8n for `npm start -- --with-n8n`: the n8n installed by
 * scripts/hosts/install-n8n.sh (.hosts/n8n), with this package installed as
 * users install it (a community package), an owner account, a "WeChat iLink
 * API" credential holding the simulator bot's token, and the demo workflow
 * imported and published.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { n8nEnv } from '../hosts/n8n-env';
import type { BotAccount } from './bot-account';
import { startHostGroup, waitFor, type HostGroup } from './host-group';
import { n8nBin, node24, projectRoot } from './paths';

export const DEMO_WORKFLOW_FILE = path.join(projectRoot, 'n8n-workflows', 'wechat-demo-bot.json');

/** The editor login the demo creates (a throwaway local account, not a secret worth hiding). */
export const N8N_DEMO_OWNER = { email: 'demo@example.com', firstName: 'Demo', lastName: 'Owner', password: 'Demo-Pass-1' };

type Json = Record<string, any>;

/** The workflow file as the public API takes it, its WeChat nodes using the demo's credential. */
function withDemoCredential(workflow: Json, credential: { id: string; name: string }): Json {
  const nodes = (workflow.nodes as Json[]).map((node) => ({
    ...node,
    ...(node.credentials ? { credentials: { wechatIlinkApi: credential } } : {}),
  }));
  return { name: workflow.name, nodes, connections: workflow.connections, settings: workflow.settings ?? { executionOrder: 'v1' } };
}

/**
 * This package as an installed community package (what Settings → Community
 * Nodes or `npm install` in ~/.n8n/nodes leaves): node types keep their
 * package names, and n8n finds the credential's testedBy test, which it does
 * not for a custom extensions folder. A link to the project root, so n8n loads
 * the `dist/` files the manifest's "n8n" section names.
 */
function installPackage(userFolder: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { name: string; n8n: { nodes: string[]; credentials: string[] } };
  const missing = [...manifest.n8n.nodes, ...manifest.n8n.credentials].filter((file) => !fs.existsSync(path.join(projectRoot, file)));
  if (missing.length > 0) throw new Error(`the n8n nodes are not built (${missing.join(', ')} missing): run 'npm run build' first`);
  const installed = path.join(userFolder, '.n8n', 'nodes', 'node_modules');
  fs.mkdirSync(installed, { recursive: true });
  fs.symlinkSync(projectRoot, path.join(installed, manifest.name), 'dir');
}

export async function startDemoN8n(options: { port: number; brokerPort: number; workDir: string; bot: BotAccount }): Promise<{ host: HostGroup; url: string }> {
  if (!fs.existsSync(n8nBin)) {
    throw new Error(`n8n is not installed: run 'bash scripts/hosts/install-n8n.sh' first (about 7 minutes, 3 GB), or start without --with-n8n`);
  }
  const userFolder = path.join(options.workDir, 'n8n');
  installPackage(userFolder);
  const url = `http://127.0.0.1:${options.port}`;
  const host = startHostGroup({
    name: 'n8n',
    command: node24(),
    args: [n8nBin, 'start'],
    cwd: userFolder,
    env: {
      PATH: `${path.dirname(node24())}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME,
      ...n8nEnv({ userFolder, port: options.port, brokerPort: options.brokerPort }),
      // The demo workflow's Code node hashes files with the built-in crypto module.
      NODE_FUNCTION_ALLOW_BUILTIN: 'crypto',
      N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '5',
    },
    logFile: path.join(options.workDir, 'n8n.log'),
  });
  await waitFor('readiness', host, async () => (await fetch(`${url}/healthz/readiness`)).ok, 120_000, 500);

  // The owner account, then an API key for the public API (browser-id ties the cookie to this client).
  const browserId = randomUUID();
  let cookie = '';
  const rest = async (method: string, restPath: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${url}/rest${restPath}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'browser-id': browserId, ...(cookie ? { Cookie: cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
    if (setCookie) cookie = setCookie.split(';')[0];
    const json = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) throw new Error(`n8n ${method} /rest${restPath} failed (HTTP ${res.status})`);
    return json;
  };
  await rest('POST', '/owner/setup', N8N_DEMO_OWNER);
  const scopes = (await rest('GET', '/api-keys/scopes')).data as string[];
  const apiKey = (await rest('POST', '/api-keys', { label: 'wechat-ilink-demo', expiresAt: null, scopes })).data.rawApiKey as string;
  const api = async (method: string, apiPath: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${url}/api/v1${apiPath}`, {
      method,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-N8N-API-KEY': apiKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Json;
    // Never echo the request or the answer: the credential call carries the token.
    if (!res.ok) throw new Error(`n8n ${method} /api/v1${apiPath} failed (HTTP ${res.status}); see ${host.logFile}`);
    return json;
  };

  const credential = await api('POST', '/credentials', {
    name: 'WeChat iLink API (demo bot)',
    type: 'wechatIlinkApi',
    data: {
      baseUrl: options.bot.apiBaseUrl,
      botToken: options.bot.token,
      botId: options.bot.botId,
      ownerUserId: options.bot.ownerUserId,
      // The CDN field is shown (and kept by n8n) only with the advanced settings on.
      showAdvanced: true,
      cdnBaseUrl: options.bot.cdnBaseUrl,
    },
  });
  const workflow = JSON.parse(fs.readFileSync(DEMO_WORKFLOW_FILE, 'utf8')) as Json;
  const created = await api('POST', '/workflows', withDemoCredential(workflow, { id: String(credential.id), name: String(credential.name) }));
  await api('POST', `/workflows/${created.id}/publish`, {});
  return { host, url: `${url}/workflow/${created.id}` };
}
