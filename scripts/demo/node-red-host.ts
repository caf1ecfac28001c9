/**
 * Node-RED for the demo: the project's node-red 5 on Node 24, loading this
 * package from its root (the `node-red` block in package.json), with the demo
 * bot flow deployed and its config node logged in to the simulator.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BotAccount } from './bot-account';
import { startHostGroup, waitFor, type HostGroup } from './host-group';
import { node24, nodeRedJs, projectRoot } from './paths';

export const DEMO_FLOW_FILE = path.join(projectRoot, 'examples', '08 - Demo bot.json');

type FlowNode = { id: string; type: string; [key: string]: unknown };

/** Loopback only, nothing that reaches the internet (palette catalogue, tours, telemetry). */
function settingsJs(port: number, userDir: string): string {
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir,
    flowFile: 'flows.json',
    flowFilePretty: true,
    // A fresh secret per run: the userDir is thrown away when the demo stops.
    credentialSecret: randomBytes(16).toString('hex'),
    nodesDir: [projectRoot],
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
    // The demo flow's function node loads the built-in `crypto` module (for the MD5).
    functionExternalModules: true,
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] }, multiplayer: { enabled: false } },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  };
  return `// Written by scripts/demo/node-red-host.ts for one demo run.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

/** The example flow with its config node pointed at the simulator's bot (the token goes in as a credential). */
export function demoFlow(bot: BotAccount): FlowNode[] {
  const flow = JSON.parse(fs.readFileSync(DEMO_FLOW_FILE, 'utf8')) as FlowNode[];
  return flow.map((node) =>
    node.type === 'ilink-config'
      ? {
          ...node,
          name: 'Demo bot (simulator)',
          baseUrl: bot.apiBaseUrl,
          cdnBaseUrl: bot.cdnBaseUrl,
          botId: bot.botId,
          ownerUserId: bot.ownerUserId,
          credentials: { token: bot.token },
        }
      : node,
  );
}

export async function startDemoNodeRed(options: { port: number; workDir: string; bot: BotAccount }): Promise<{ host: HostGroup; url: string }> {
  const userDir = path.join(options.workDir, 'node-red');
  fs.mkdirSync(userDir, { recursive: true });
  const settingsFile = path.join(userDir, 'settings.js');
  fs.writeFileSync(settingsFile, settingsJs(options.port, userDir));
  const url = `http://127.0.0.1:${options.port}`;
  const host = startHostGroup({
    name: 'Node-RED',
    command: node24(),
    args: [nodeRedJs, '--settings', settingsFile],
    cwd: userDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: process.env.TZ },
    logFile: path.join(options.workDir, 'node-red.log'),
  });
  await waitFor('its editor', host, async () => (await fetch(`${url}/settings`)).ok, 30_000);
  await waitFor('the (empty) flows to start', host, async () => /Started flows/.test(host.logText()), 30_000);

  const mark = host.logText().length;
  const response = await fetch(`${url}/flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v2' },
    body: JSON.stringify({ flows: demoFlow(options.bot) }),
  });
  // The answer may echo request details; never print it (the body held the token).
  if (!response.ok) throw new Error(`Node-RED refused the demo flow (HTTP ${response.status}); see ${host.logFile}`);
  await response.arrayBuffer();
  // POST /flows answers before the new flows run.
  await waitFor('the demo flow to start', host, async () => /Started flows/.test(host.logText().slice(mark)), 20_000);
  return { host, url };
}
