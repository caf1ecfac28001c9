/**
 * `npm run simulator`: a local iLink server for manual testing.
 * ILINK_SIM_PORT (default 8790), ILINK_SIM_STRICT=0 for lenient mode,
 * ILINK_SIM_BASE_PATH for a path prefix, ILINK_SIM_REPLAY=1 to re-deliver on
 * an old or empty cursor, ILINK_SIM_ID_ONLY_QUOTES=0 for full-form quotes.
 * Tokens are never printed.
 */
import { startSimulator } from './index';

async function main(): Promise<void> {
  const port = Number.parseInt(process.env.ILINK_SIM_PORT ?? '8790', 10);
  const strict = process.env.ILINK_SIM_STRICT !== '0';
  const replay = process.env.ILINK_SIM_REPLAY === '1';
  const idOnlyQuotes = process.env.ILINK_SIM_ID_ONLY_QUOTES !== '0';
  const sim = await startSimulator({ port, strict, replay, idOnlyQuotes, basePath: process.env.ILINK_SIM_BASE_PATH });
  const lines = [
    `iLink simulator (${strict ? 'strict' : 'lenient'} mode, ${replay ? 'replay on old cursors' : 'no replay'}, ${idOnlyQuotes ? 'ID-only' : 'full-form'} quotes)`,
    `  Chat page:  ${sim.chatUrl}`,
    `  API base:   ${sim.apiBaseUrl}`,
    `  CDN base:   ${sim.cdnBaseUrl}`,
    '',
    'Create a bot:',
    `  - QR login: point your client's API base at ${sim.apiBaseUrl} and start a login;`,
    '    open the QR link it shows (the simulated phone page) and press Confirm.',
    `  - Or: curl -s -X POST ${sim.url}/_admin/bots -H 'Content-Type: application/json' -d '{}'`,
    '    (the answer holds the bot token), or press "Create test bot" on the chat page.',
    '',
    'Admin API: see simulator/README.md. Ctrl-C stops.',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`iLink simulator failed to start: ${(error as Error).message}`);
  process.exit(1);
});
