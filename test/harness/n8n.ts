import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostProcess, spawnHost, tailOf, waitUntil } from './host-process';
import { N8nEnvInput, n8nEnv } from '../../scripts/hosts/n8n-env';
import { node24 } from './node-binaries';
import { hostsRoot, outputDir } from './output';
import { killedWithParent } from './parent-death';
import { freePorts } from './ports';

export interface StartN8nOptions {
  /** Folders n8n scans for *.node.js / *.credentials.js (point at built output, not a package root). */
  customExtensionDirs: string[];
  /** Extra or overriding environment variables. */
  env?: Record<string, string>;
  /** Reuse a user folder (database, encryption key); default: a fresh one under .test-output. */
  userFolder?: string;
  /** Names the output folder; default `n8n`. */
  name?: string;
  startTimeoutMs?: number;
  /**
   * After kill(), n8n finds its crash journal at the next start, logs "Last session
   * crashed" and sleeps 10 s. true: remove the journal before each start (no sleep).
   */
  skipCrashSleep?: boolean;
  /** true: the kernel kills n8n when jest ends, even without stop() (see parent-death.ts). */
  killedWithJest?: boolean;
}

/** The owner the harness creates in every fresh n8n (password meets n8n's rules). */
export const n8nOwner = { email: 'owner@harness.test', firstName: 'Harness', lastName: 'Owner', password: 'Harness-Pass-1' };

export interface N8nWorkflowInput {
  name: string;
  nodes: Array<Record<string, unknown>>;
  connections: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

export interface N8nExecution {
  id: string;
  workflowId: string;
  status: string;
  finished: boolean;
  mode: string;
  data?: any;
  [key: string]: unknown;
}

export interface N8nInstance {
  /** e.g. http://127.0.0.1:45678 */
  readonly url: string;
  readonly port: number;
  readonly userFolder: string;
  readonly logFile: string;
  readonly apiKey: string;
  /** Public API (/api/v1 + path) with X-N8N-API-KEY. Throws on a non-2xx status. */
  api<T = any>(method: string, apiPath: string, body?: unknown): Promise<T>;
  /** Internal REST (/rest + path) with the owner's cookie. Returns the whole JSON body (usually `{data}`). */
  rest<T = any>(method: string, restPath: string, body?: unknown): Promise<T>;
  createCredential(name: string, type: string, data: Record<string, unknown>): Promise<{ id: string; name: string }>;
  createWorkflow(workflow: N8nWorkflowInput): Promise<{ id: string; [key: string]: unknown }>;
  /**
   * POST /workflows/{id}/publish (2.x name for "activate"; /activate is deprecated).
   * Answers with the workflow (`active: true`) before its webhooks are
   * registered (~0.6 s later): use waitForWebhook / waitForExecutions after it.
   */
  publishWorkflow(id: string): Promise<any>;
  /** POST /workflows/{id}/unpublish: runs the trigger's closeFunction. */
  unpublishWorkflow(id: string): Promise<void>;
  /** Polls until `count` finished executions (with data) exist for the workflow; newest first. */
  waitForExecutions(workflowId: string, count: number, timeoutMs?: number): Promise<N8nExecution[]>;
  /** POST /webhook/<path> with a JSON body; never throws on an HTTP status. */
  callWebhook(webhookPath: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Calls the webhook until it is registered (not 404), e.g. after a restart; then returns that answer. */
  waitForWebhook(webhookPath: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; body: any }>;
  /**
   * Whether n8n currently serves the production webhook, asked with an OPTIONS
   * (CORS preflight) request so that no execution is started.
   */
  isWebhookRegistered(webhookPath: string): Promise<boolean>;
  /** Polls isWebhookRegistered until it equals `registered` (publish/unpublish act a moment later). */
  waitForWebhookRegistered(webhookPath: string, registered: boolean, timeoutMs?: number): Promise<void>;
  /** Stops and starts again with the same user folder, database and ports; waits until ready and logged in. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /**
   * SIGKILL to n8n's whole process group (n8n and its task runner): a crash, no
   * graceful shutdown. Resolves once the leader is gone; restart() starts it again.
   */
  kill(): Promise<void>;
  logText(): string;
}

/** The installed n8n's bin script (run it with node24()); a clear error when n8n is not installed. */
export function n8nBin(): string {
  const bin = path.join(hostsRoot, 'n8n', 'node_modules', 'n8n', 'bin', 'n8n');
  if (!fs.existsSync(bin)) {
    throw new Error(`n8n is not installed (${bin} missing): run 'bash scripts/hosts/install-n8n.sh' (about 7 minutes, 3 GB).`);
  }
  return bin;
}

/**
 * The environment of every n8n process the harness starts (a main, or a queue
 * mode worker, see n8n-queue.ts): our Node 24 first on PATH, the offline n8n
 * environment, test-friendly logging and shutdown, then `overrides`.
 */
export function n8nProcessEnv(input: N8nEnvInput, overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    PATH: `${path.dirname(node24())}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    ...n8nEnv(input),
    // A restart in a test should not wait n8n's default 30 s for nothing.
    N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
    N8N_LOG_LEVEL: 'info',
    N8N_LOG_OUTPUT: 'console',
    TZ: 'UTC',
    ...overrides,
  };
}

/** n8n's crash journal (<user folder>/.n8n/crash.journal): present at start means "crashed", and n8n sleeps 10 s. */
export function removeCrashJournal(userFolder: string): void {
  fs.rmSync(path.join(userFolder, '.n8n', 'crash.journal'), { force: true });
}

async function parseBody(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startN8n(options: StartN8nOptions): Promise<N8nInstance> {
  const bin = n8nBin();
  const nodeBin = node24();
  const runDir = outputDir(options.name ?? 'n8n');
  const userFolder = options.userFolder ?? path.join(runDir, 'user');
  fs.mkdirSync(userFolder, { recursive: true });
  const [port, brokerPort] = await freePorts(2);
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(runDir, 'n8n.log');
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const env = n8nProcessEnv({ userFolder, port, brokerPort, customExtensionDirs: options.customExtensionDirs }, options.env);
  // n8n ties the auth cookie to a browser id sent as a header on every /rest call.
  const browserId = crypto.randomUUID();
  let cookie = '';
  let apiKey = '';
  let host: HostProcess | undefined;

  async function rest<T>(method: string, restPath: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}/rest${restPath}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'browser-id': browserId, ...(cookie ? { Cookie: cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
    if (setCookie) cookie = setCookie.split(';')[0];
    const parsed = await parseBody(res);
    if (!res.ok) throw new Error(`n8n ${method} /rest${restPath} → ${res.status}: ${JSON.stringify(parsed)}`);
    return parsed as T;
  }

  async function api<T>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}/api/v1${apiPath}`, {
      method,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-N8N-API-KEY': apiKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed = await parseBody(res);
    if (!res.ok) throw new Error(`n8n ${method} /api/v1${apiPath} → ${res.status}: ${JSON.stringify(parsed)}`);
    return parsed as T;
  }

  /** Owner setup on a fresh database, login on a used one; then an API key once per instance. */
  async function signIn(): Promise<void> {
    const settings = await rest<{ data: { userManagement: { showSetupOnFirstLoad?: boolean } } }>('GET', '/settings');
    if (settings.data.userManagement.showSetupOnFirstLoad) {
      await rest('POST', '/owner/setup', n8nOwner);
    } else {
      await rest('POST', '/login', { emailOrLdapLoginId: n8nOwner.email, password: n8nOwner.password });
    }
    if (!apiKey) {
      const scopes = await rest<{ data: string[] }>('GET', '/api-keys/scopes');
      const created = await rest<{ data: { rawApiKey: string } }>('POST', '/api-keys', {
        label: `harness-${browserId.slice(0, 8)}`,
        expiresAt: null,
        scopes: scopes.data,
      });
      apiKey = created.data.rawApiKey;
    }
  }

  async function launch(): Promise<void> {
    if (options.skipCrashSleep) removeCrashJournal(userFolder);
    const [command, args] = options.killedWithJest ? killedWithParent(nodeBin, [bin, 'start']) : [nodeBin, [bin, 'start']];
    host = spawnHost({ command, args, cwd: runDir, env, logFile });
    const started = host;
    await waitUntil('n8n readiness', async () => (await fetch(`${url}/healthz/readiness`)).ok, started, startTimeoutMs, 500);
    await signIn();
  }

  const instance: N8nInstance = {
    url,
    port,
    userFolder,
    logFile,
    get apiKey() {
      return apiKey;
    },
    api,
    rest,
    async createCredential(name, type, data) {
      return api('POST', '/credentials', { name, type, data });
    },
    async createWorkflow(workflow) {
      return api('POST', '/workflows', { settings: { executionOrder: 'v1' }, ...workflow });
    },
    async publishWorkflow(id) {
      return api('POST', `/workflows/${id}/publish`, {});
    },
    async unpublishWorkflow(id) {
      await api('POST', `/workflows/${id}/unpublish`);
    },
    async waitForExecutions(workflowId, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const page = await api<{ data: N8nExecution[] }>(
          'GET',
          `/executions?workflowId=${encodeURIComponent(workflowId)}&includeData=true&limit=${Math.max(count, 20)}`,
        );
        const done = page.data.filter((e) => !['new', 'running', 'waiting'].includes(e.status));
        if (done.length >= count) return done;
        if (Date.now() > deadline) {
          throw new Error(
            `n8n: ${done.length}/${count} finished executions of workflow ${workflowId} after ${timeoutMs} ms ` +
              `(statuses: ${page.data.map((e) => e.status).join(', ') || 'none'}). Log ${logFile}:\n${tailOf(instance.logText(), 20)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    },
    async callWebhook(webhookPath, body = {}) {
      const res = await fetch(`${url}/webhook/${webhookPath.replace(/^\//, '')}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await parseBody(res) };
    },
    async waitForWebhook(webhookPath, body = {}, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answer = await instance.callWebhook(webhookPath, body);
        if (answer.status !== 404) return answer;
        if (Date.now() > deadline) throw new Error(`n8n: webhook ${webhookPath} still 404 after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async isWebhookRegistered(webhookPath) {
      const res = await fetch(`${url}/webhook/${webhookPath.replace(/^\//, '')}`, {
        method: 'OPTIONS',
        headers: { Origin: url, 'Access-Control-Request-Method': 'POST' },
      });
      await res.arrayBuffer();
      // Measured on 2.41.1: 204 when registered; 500 (not 404) when not.
      return res.ok;
    },
    async waitForWebhookRegistered(webhookPath, registered, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await instance.isWebhookRegistered(webhookPath)) !== registered) {
        if (Date.now() > deadline) {
          throw new Error(`n8n: webhook ${webhookPath} still ${registered ? 'not registered' : 'registered'} after ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async restart() {
      await instance.stop();
      await launch();
    },
    async stop() {
      // n8n's own graceful shutdown is capped at 10 s (N8N_GRACEFUL_SHUTDOWN_TIMEOUT).
      await host?.stop(15_000);
    },
    async kill() {
      await host?.kill();
    },
    logText: () => (host ? host.logText() : ''),
  };

  try {
    await launch();
  } catch (err) {
    await host?.stop(2_000);
    throw err;
  }
  return instance;
}
