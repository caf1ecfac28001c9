import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnHost, HostProcess, waitUntil } from './host-process';
import { node20ForNodeRed4, node24 } from './node-binaries';
import { nodeRedSettingsJs } from './node-red-settings';
import { hostsRoot, outputDir, projectRoot } from './output';
import { freePort } from './ports';

/** A node in a Node-RED flow export (only the fields the harness looks at are typed). */
export interface NodeRedFlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  credentials?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface StartNodeRedOptions {
  /** 5 (default): the project's node-red on Node 24. 4: .hosts/node-red-4 on Node 20. */
  version?: 4 | 5;
  /** Folders holding node packages (a package.json with a `node-red` block) or loose .js/.html nodes. */
  nodesDir?: string[];
  /** Reuse a userDir (e.g. one from an earlier instance); default: a fresh folder under .test-output. */
  userDir?: string;
  /** Deployed through the admin API once the runtime is up, so `credentials` fields work too. */
  flows?: NodeRedFlowNode[];
  credentialSecret?: string;
  /**
   * Turns on Node-RED's admin login. Give it `default: { permissions: 'read' }` so the harness can read
   * /settings; deploy() sends no login then: deploy with request() and a bearer token.
   */
  adminAuth?: Record<string, unknown>;
  /** Let function nodes load modules, as Node-RED's default settings do (e.g. an example's built-in `crypto`). */
  functionExternalModules?: boolean;
  env?: Record<string, string>;
  /** Names the output folder; default `node-red-<version>`. */
  name?: string;
  startTimeoutMs?: number;
}

export interface NodeRedInstance {
  readonly version: 4 | 5;
  /** e.g. http://127.0.0.1:41234 (admin API, editor and http-in nodes share it). */
  readonly url: string;
  readonly port: number;
  readonly userDir: string;
  readonly logFile: string;
  /** The runtime's own version string from GET /settings, e.g. "5.0.7". */
  runtimeVersion(): string;
  /** Admin API call; throws with the response text on a non-2xx status. */
  request<T = unknown>(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** Full deploy (v2). `credentials` maps node id → that node's credentials. */
  deploy(flows: NodeRedFlowNode[], credentials?: Record<string, Record<string, unknown>>): Promise<{ rev: string }>;
  getFlows(): Promise<{ rev: string; flows: NodeRedFlowNode[] }>;
  /** Fires an inject node, as the editor's button does. */
  injectNode(id: string): Promise<void>;
  /** GET /nodes: the loaded node sets. */
  nodes(): Promise<Array<{ id: string; name: string; types: string[]; enabled: boolean; module: string; err?: string }>>;
  /** Waits until the log (since the current start) matches `pattern`; returns the match. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Stops and starts again with the same userDir, port and settings. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  logText(): string;
}

interface Paths {
  nodeBin: string;
  redJs: string;
}

function hostPaths(version: 4 | 5): Paths {
  if (version === 5) {
    return { nodeBin: node24(), redJs: path.join(projectRoot, 'node_modules', 'node-red', 'red.js') };
  }
  const redJs = path.join(hostsRoot, 'node-red-4', 'node_modules', 'node-red', 'red.js');
  if (!fs.existsSync(redJs)) {
    throw new Error(`Node-RED 4 is not installed (${redJs} missing): run 'bash scripts/hosts/install-node-red-4.sh'.`);
  }
  return { nodeBin: node20ForNodeRed4(), redJs };
}

export async function startNodeRed(options: StartNodeRedOptions = {}): Promise<NodeRedInstance> {
  const version = options.version ?? 5;
  const { nodeBin, redJs } = hostPaths(version);
  const runDir = outputDir(options.name ?? `node-red-${version}`);
  const userDir = options.userDir ?? path.join(runDir, 'user');
  fs.mkdirSync(userDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const settingsFile = path.join(runDir, 'settings.js');
  fs.writeFileSync(
    settingsFile,
    nodeRedSettingsJs({
      uiPort: port,
      userDir,
      flowFile: 'flows.json',
      credentialSecret: options.credentialSecret ?? 'harness-credential-secret',
      nodesDir: options.nodesDir ?? [],
      adminAuth: options.adminAuth,
      functionExternalModules: options.functionExternalModules,
    }),
  );
  const logFile = path.join(runDir, 'node-red.log');
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;

  let host: HostProcess | undefined;
  let logOffset = 0;
  let runtimeVersion = '';

  async function request<T>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(url + urlPath, {
      method,
      headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Node-RED ${method} ${urlPath} → ${res.status}: ${text}`);
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  function logSinceStart(): string {
    return host ? host.logText().slice(logOffset) : '';
  }

  async function launch(): Promise<void> {
    // A character offset (not bytes): it slices the decoded log text.
    logOffset = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').length : 0;
    host = spawnHost({
      command: nodeBin,
      args: [redJs, '--settings', settingsFile],
      cwd: runDir,
      // No NODE_OPTIONS from jest (ts-jest hooks etc.) leak into the host.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', NODE_ENV: 'test', ...options.env },
      logFile,
    });
    const started = host;
    await waitUntil('Node-RED HTTP', async () => (await fetch(`${url}/settings`)).ok, started, startTimeoutMs);
    // HTTP answers before the flows run; deploys and injects need them running.
    await waitUntil('Node-RED flows', async () => /Started flows/.test(logSinceStart()), started, startTimeoutMs, 100);
    runtimeVersion = (await request<{ version: string }>('GET', '/settings')).version;
  }

  const instance: NodeRedInstance = {
    version,
    url,
    port,
    userDir,
    logFile,
    runtimeVersion: () => runtimeVersion,
    request,
    async deploy(flows, credentials = {}) {
      const withCredentials = flows.map((node) =>
        credentials[node.id] ? { ...node, credentials: { ...node.credentials, ...credentials[node.id] } } : node,
      );
      if (!host) throw new Error('Node-RED is not running');
      const running = host;
      const mark = running.logText().length;
      const result = await request<{ rev: string }>('POST', '/flows', { flows: withCredentials }, {
        'Node-RED-Deployment-Type': 'full',
        'Node-RED-API-Version': 'v2',
      });
      // POST /flows answers before the new flows have started (seen as a 404
      // from /inject right after a deploy under load): wait for the runtime to say so.
      await waitUntil('Node-RED deploy', async () => /Started flows/.test(running.logText().slice(mark)), running, 15_000, 50);
      return result;
    },
    getFlows: () => request('GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' }),
    async injectNode(id) {
      await request('POST', `/inject/${encodeURIComponent(id)}`);
    },
    nodes: () => request('GET', '/nodes'),
    async waitForLog(pattern, timeoutMs = 10_000) {
      let match: RegExpMatchArray | null = null;
      if (!host) throw new Error('Node-RED is not running');
      await waitUntil(`log line ${pattern}`, async () => (match = logSinceStart().match(pattern)) !== null, host, timeoutMs, 100);
      return match as unknown as RegExpMatchArray;
    },
    async restart() {
      await instance.stop();
      await launch();
    },
    async stop() {
      await host?.stop(5_000);
    },
    logText: () => (host ? host.logText() : ''),
  };

  try {
    await launch();
  } catch (err) {
    await host?.stop(2_000);
    throw err;
  }
  if (options.flows) await instance.deploy(options.flows);
  return instance;
}

/** A random hex id in Node-RED's style, for building flows in tests. */
export function nodeRedId(): string {
  return crypto.randomBytes(8).toString('hex');
}
