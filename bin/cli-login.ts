/**
 * The `login` command: shows the QR code, asks for the verification number when
 * WeChat shows one, and prints the values to paste into the n8n credential or
 * the Node-RED config node. The final print is the one place where the token
 * appears: that is this command's job.
 *
 * Ctrl-C cancels at once. It arrives as a SIGINT signal, or, while the number
 * prompt holds a terminal in raw mode, as readline's 'SIGINT' event; both
 * abort the login's signal, which ends every request and wait of the login.
 */
import { createInterface, type Interface } from 'node:readline/promises';
import { LoginSession, qrTerminalStyleFor, renderQrTerminal } from '../shared';
import type { LoginFlags } from './cli-args';

export const EXIT_CANCELLED = 130;

export async function runLogin(flags: LoginFlags): Promise<number> {
  const cancel = new AbortController();
  let inputEnded = false;
  let finished = false;
  const onInterrupt = () => {
    // A second Ctrl-C does not wait for anything.
    if (cancel.signal.aborted) process.exit(EXIT_CANCELLED);
    cancel.abort();
  };
  process.on('SIGINT', onInterrupt);

  // Opened only when a number is asked: an open readline on a terminal would take Ctrl-C as a keystroke.
  let prompt: Interface | undefined;
  const askNumber = async ({ wrong }: { wrong: boolean }): Promise<string> => {
    if (!prompt) {
      prompt = createInterface({ input: process.stdin, output: process.stdout });
      prompt.on('SIGINT', onInterrupt);
      prompt.on('close', () => {
        if (finished) return;
        inputEnded = true;
        cancel.abort();
      });
    }
    const question = wrong ? 'That number was wrong. Enter the number shown on the phone: ' : 'Enter the number shown on the phone: ';
    return prompt.question(question, { signal: cancel.signal });
  };

  const style = flags.qr === 'auto' ? qrTerminalStyleFor(process.stdout) : flags.qr;
  try {
    const session = await LoginSession.start({
      baseUrl: flags.baseUrl,
      routeTag: flags.routeTag,
      botAgent: flags.botAgent,
      signal: cancel.signal,
      verifyCode: askNumber,
    });
    const show = async () => {
      console.log(await renderQrTerminal(session.qr.content, { style }));
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
  } catch (error) {
    if (!cancel.signal.aborted) throw error;
    if (inputEnded) {
      console.error('\nLogin cancelled: the input ended before the number shown on the phone was entered.');
      return 1;
    }
    console.error('\nLogin cancelled.');
    return EXIT_CANCELLED;
  } finally {
    finished = true;
    process.off('SIGINT', onInterrupt);
    prompt?.close();
  }
}
