/**
 * `npm start`: the demo. Starts the simulator (API + CDN + chat page) and the
 * example bot from examples/echo-bot.ts, which logs in through the
 * simulator's QR page. Open the printed login link, press Confirm, then chat
 * on the chat page. Ctrl-C stops everything.
 *
 * ILINK_SIM_PORT picks the port (default 8790).
 */
import { runEchoBot } from '../examples/echo-bot';
import { startSimulator } from '../simulator';

async function main(): Promise<void> {
  const port = Number.parseInt(process.env.ILINK_SIM_PORT ?? '8790', 10);
  const sim = await startSimulator({ port });
  const controller = new AbortController();
  console.log(
    [
      'WeChat iLink demo',
      `  Chat page (play a WeChat user): ${sim.chatUrl}`,
      `  Simulated iLink API:            ${sim.apiBaseUrl}`,
      '',
      'The example bot is logging in. Open the link under the QR code below',
      '(that is "scanning" it), press Confirm, then chat on the chat page:',
      'the bot answers "ping" with "pong" and echoes everything else.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    controller.abort();
    await sim.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (;;) {
    try {
      await runEchoBot({ apiBaseUrl: sim.apiBaseUrl, cdnBaseUrl: sim.cdnBaseUrl, signal: controller.signal });
      if (controller.signal.aborted) return;
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
