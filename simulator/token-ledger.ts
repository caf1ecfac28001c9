/**
 * When ILINK_TOKEN_LEDGER names a file, every bot token the simulator issues is
 * appended to it, so that a scan after the test run (scripts/leak-scan.js) can
 * look for those exact tokens in every log, flow export and execution record
 * the tests produced.
 */
import { appendFileSync } from 'node:fs';

export function recordIssuedToken(token: string): void {
  const ledger = process.env.ILINK_TOKEN_LEDGER;
  if (ledger) appendFileSync(ledger, `${token}\n`, { mode: 0o600 });
}
