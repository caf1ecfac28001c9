#!/usr/bin/env node
/**
 * `npx n8n-nodes-wechat-ilink login`: QR login in a terminal. Prints the QR
 * code, asks for the verification number when WeChat shows one, and prints the
 * values to paste into the n8n credential or the Node-RED config node. This is
 * the one place where the token is printed: that is its job.
 */
import { createInterface } from 'node:readline/promises';
import { LoginSession, renderQrTerminal } from '../shared';
import { DEFAULT_API_BASE } from '../shared/wire';

const USAGE = `Usage: npx n8n-nodes-wechat-ilink login [--base-url URL] [--route-tag TAG] [--bot-agent "Name/1.0"]

Logs a WeChat bot in with a QR code and prints the token and IDs to paste into
the "WeChat iLink API" credential (n8n) or the iLink config node (Node-RED).`;

function parseArgs(argv: string[]): { command?: string; flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=', 2);
      flags[key] = inline ?? argv[++i] ?? '';
    } else if (!command) command = arg;
  }
  return { command, flags };
}

async function login(flags: Record<string, string>): Promise<number> {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const session = await LoginSession.start({
      baseUrl: flags['base-url'] || DEFAULT_API_BASE,
      routeTag: flags['route-tag'] || undefined,
      botAgent: flags['bot-agent'] || undefined,
      signal: controller.signal,
      verifyCode: async ({ wrong }) =>
        rl.question(wrong ? 'That number was wrong. Enter the number shown on the phone: ' : 'Enter the number shown on the phone: '),
    });
    const show = async () => {
      console.log(await renderQrTerminal(session.qr.content));
      console.log(`Scan with WeChat, or open: ${session.qr.content}\n`);
    };
    await show();
    session.on('scanned', () => console.log('Scanned. Confirm the login on the phone…'));
    session.on('refreshed', () => void show().then(() => console.log('(the previous code expired; this is a new one)')));
    const result = await session.wait();
    if (result.kind === 'already-bound') {
      console.log('This WeChat account is already bound to a bot token you hold; keep using it.');
      return 0;
    }
    console.log('\nLogged in. Paste these into the credential / config node:\n');
    console.log(`  Bot token      ${result.token}`);
    console.log(`  API base URL   ${result.baseUrl}`);
    console.log(`  Bot ID         ${result.botId}`);
    console.log(`  Owner user ID  ${result.userId}`);
    console.log('\nKeep the token secret: anyone who has it can act as this bot.');
    return 0;
  } finally {
    rl.close();
  }
}

async function main(): Promise<number> {
  const { command, flags } = parseArgs(process.argv.slice(2));
  if (command === 'login') return login(flags);
  console.log(USAGE);
  return command === undefined || command === 'help' || 'help' in flags ? 0 : 2;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
