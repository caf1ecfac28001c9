/**
 * `npm start`: the demo. One command starts
 *   - the iLink simulator (API + CDN + chat page, where you play WeChat users),
 *   - Node-RED with the demo bot flow (examples/08 - Demo bot.json)
 *     deployed, its config node logged in to a simulator bot,
 *   - with --with-n8n (or `npm run demo:n8n`): n8n with the same bot as a
 *     workflow (n8n-workflows/wechat-demo-bot.json), published,
 *   - the core echo bot (docs/echo-bot.ts), which logs in through the
 *     simulator's QR page, to show the login.
 * Ctrl-C stops everything. Ports: ILINK_SIM_PORT (8790), NODE_RED_PORT (1880),
 * N8N_PORT (5678; n8n's task broker uses the next port).
 * The bot tokens go only into the hosts' credential stores, never to the terminal.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEchoBot } from '../docs/echo-bot';
import { startSimulator, type Simulator } from '../simulator';
import type { BotAccount } from './demo/bot-account';
import type { HostGroup } from './demo/host-group';
import { N8N_DEMO_OWNER, startDemoN8n } from './demo/n8n-host';
import { startDemoNodeRed } from './demo/node-red-host';

const withN8n = process.argv.includes('--with-n8n');

function portFrom(name: string, fallback: number): number {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

function createBot(sim: Simulator, botId: string): BotAccount {
  const bot = sim.admin.createBot({ botId, ownerUserId: 'demo-owner@im.wechat' });
  return { botId: bot.botId, ownerUserId: bot.ownerUserId, token: bot.token, apiBaseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl };
}

async function main(): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wechat-ilink-demo-'));
  const hosts: HostGroup[] = [];
  const controller = new AbortController();
  let sim: Simulator | undefined;

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    controller.abort();
    // Hosts first (they poll the simulator), newest first.
    await Promise.all(hosts.reverse().map((host) => host.stop()));
    await sim?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    sim = await startSimulator({ port: portFrom('ILINK_SIM_PORT', 8790) });
    console.log(`Simulator up: ${sim.chatUrl}\nStarting Node-RED${withN8n ? ' and n8n' : ''}…`);

    const nodeRedBot = createBot(sim, 'demo-node-red@im.bot');
    const starts: Array<Promise<string>> = [
      startDemoNodeRed({ port: portFrom('NODE_RED_PORT', 1880), workDir, bot: nodeRedBot }).then(({ host, url }) => {
        hosts.push(host);
        return url;
      }),
    ];
    if (withN8n) {
      const n8nPort = portFrom('N8N_PORT', 5678);
      const n8nBot = createBot(sim, 'demo-n8n@im.bot');
      starts.push(
        startDemoN8n({ port: n8nPort, brokerPort: portFrom('N8N_RUNNERS_BROKER_PORT', n8nPort + 1), workDir, bot: n8nBot }).then(({ host, url }) => {
          hosts.push(host);
          return url;
        }),
      );
    }
    const [nodeRedUrl, n8nUrl] = await Promise.all(starts);

    console.log(
      [
        '',
        'WeChat iLink demo is running.',
        '',
        `  Chat page (play a WeChat user):   ${sim.chatUrl}`,
        `  Node-RED editor (the bot's flow): ${nodeRedUrl}`,
        withN8n
          ? `  n8n editor (the bot's workflow):  ${n8nUrl}   (log in as ${N8N_DEMO_OWNER.email} / ${N8N_DEMO_OWNER.password})`
          : '  n8n editor:                       not started (npm run demo:n8n; needs bash scripts/hosts/install-n8n.sh)',
        '',
        `On the chat page pick the bot "${nodeRedBot.botId}"${withN8n ? ' (Node-RED) or "demo-n8n@im.bot" (n8n)' : ''} and write:`,
        '  ping → pong · help → a long Markdown answer, filtered and split',
        '  a photo → its size and type, and the photo back · a file → its name and MD5',
        '  a voice message → its duration, and the audio back as a WAV file',
        `Host logs: ${workDir}`,
        '',
        'One more bot, written against the core (docs/echo-bot.ts), logs in with a QR code.',
        'Open the link under the code (that is "scanning" it) and press Confirm:',
        '',
      ].join('\n'),
    );
  } catch (error) {
    console.error(`demo failed: ${(error as Error).message}`);
    await stop(1);
    return;
  }

  // The core echo bot: a new QR login whenever one ends (expired, cancelled).
  while (!controller.signal.aborted) {
    try {
      await runEchoBot({ apiBaseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return;
      console.log(`\n${(error as Error).message}\nStarting a new login…\n`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
