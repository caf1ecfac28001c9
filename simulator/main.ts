/**
 * `npm run simulator`: a local iLink server for manual testing.
 * ILINK_SIM_PORT (default 8790), ILINK_SIM_STRICT=0 for lenient mode,
 * ILINK_SIM_BASE_PATH for a path prefix, ILINK_SIM_REPLAY=1 to re-deliver on
 * an old or empty cursor, ILINK_SIM_ID_ONLY_QUOTES=0 for full-form quotes,
 * ILINK_SIM_REPLY_WINDOW_MS and ILINK_SIM_SENDS_PER_INBOUND for the reply
 * window and budget, ILINK_SIM_RATE_LIMIT=<sends>/<perMs> for a rate limit.
 * Tokens are never printed.
 */
import { startSimulator, type RateLimit } from './index';

function numberEnv(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`${name} must be a number`);
  return parsed;
}

/** ILINK_SIM_RATE_LIMIT=5/60000: at most 5 sends per bot in any 60 s. */
function rateLimitEnv(): RateLimit | undefined {
  const value = process.env.ILINK_SIM_RATE_LIMIT;
  if (!value) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!match) throw new Error('ILINK_SIM_RATE_LIMIT must look like <sends>/<perMs>, e.g. 5/60000');
  return { sends: Number(match[1]), perMs: Number(match[2]) };
}

async function main(): Promise<void> {
  const port = Number.parseInt(process.env.ILINK_SIM_PORT ?? '8790', 10);
  const strict = process.env.ILINK_SIM_STRICT !== '0';
  const replay = process.env.ILINK_SIM_REPLAY === '1';
  const idOnlyQuotes = process.env.ILINK_SIM_ID_ONLY_QUOTES !== '0';
  const sim = await startSimulator({
    port,
    strict,
    replay,
    idOnlyQuotes,
    basePath: process.env.ILINK_SIM_BASE_PATH,
    replyWindowMs: numberEnv('ILINK_SIM_REPLY_WINDOW_MS'),
    sendsPerInbound: numberEnv('ILINK_SIM_SENDS_PER_INBOUND'),
    rateLimit: rateLimitEnv(),
  });
  const { replyWindowMs, sendsPerInbound, rateLimit } = sim.options;
  const lines = [
    `iLink simulator (${strict ? 'strict' : 'lenient'} mode, ${replay ? 'replay on old cursors' : 'no replay'}, ${idOnlyQuotes ? 'ID-only' : 'full-form'} quotes)`,
    `  Sending:    reply window ${replyWindowMs / 3_600_000} h, ${sendsPerInbound} sends per user message, ` +
      (rateLimit ? `rate limit ${rateLimit.sends} per ${rateLimit.perMs} ms` : 'no rate limit'),
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
