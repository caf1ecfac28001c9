/**
 * A complete WeChat bot in a few lines against the core: log in with the QR
 * code, then answer every message. Run it against the simulator with
 * `npm start`, or against the real iLink server with
 * `node dist/docs/echo-bot.js` (it logs in on the official host by default).
 */
import { ILinkClient, LoginSession, renderQrTerminal, type Message } from '../shared';

export async function runEchoBot(options: { apiBaseUrl?: string; cdnBaseUrl?: string; signal?: AbortSignal; log?: (line: string) => void }) {
  const log = options.log ?? console.log;

  // 1. Log in: show the QR code, wait for the scan and the confirmation.
  const login = await LoginSession.start({ baseUrl: options.apiBaseUrl, signal: options.signal });
  log(`Scan this QR code with WeChat (or open the link):\n${await renderQrTerminal(login.qr.content)}\n${login.qr.content}`);
  login.on('scanned', () => log('Scanned: confirm on the phone.'));
  login.on('refreshed', async (qr) => log(`QR code expired, here is a new one: ${qr.content}`));
  const result = await login.wait();
  if (result.kind !== 'confirmed') throw new Error('this bot is already bound; use the stored token');
  log(`Logged in as ${result.botId} (owner ${result.userId}).`);

  // 2. Listen and reply. Typing shows while the reply is prepared.
  const client = ILinkClient.fromLogin(result, { cdnBaseUrl: options.cdnBaseUrl });
  await client.listen(
    async (message: Message) => {
      log(`${message.from}: ${message.text}`);
      await client.withTyping(message.from, async () => {
        const answer = message.text.trim().toLowerCase() === 'ping' ? 'pong' : `你说：${message.text}`;
        await client.reply(message, answer);
      });
    },
    { signal: options.signal, owner: 'echo bot' },
  );
}

if (require.main === module) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  runEchoBot({ apiBaseUrl: process.env.ILINK_API_BASE, cdnBaseUrl: process.env.ILINK_CDN_BASE, signal: controller.signal }).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
