/**
 * Starts a fresh token ledger for this test run: the simulator appends every
 * bot token it issues, and scripts/leak-scan.js looks for them afterwards.
 */
const fs = require('node:fs');
const path = require('node:path');

module.exports = async () => {
  const dir = path.join(__dirname, '..', '.test-output');
  fs.mkdirSync(dir, { recursive: true });
  const ledger = path.join(dir, 'issued-tokens.txt');
  fs.writeFileSync(ledger, '', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'run-started-at'), String(Date.now()));
  process.env.ILINK_TOKEN_LEDGER = ledger;
};
