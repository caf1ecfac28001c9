#!/usr/bin/env node
/**
 * After the test run: looks for every bot token the simulator issued during
 * the run (.test-output/issued-tokens.txt) in every file the run wrote under
 * .test-output/: host logs, Node-RED flow files and exports, n8n's database
 * (execution data), screenshots' neighbours, demo logs. Exits 1 on any hit.
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '.test-output');
const ledgerPath = path.join(root, 'issued-tokens.txt');
const startedPath = path.join(root, 'run-started-at');
const MAX_FILE_BYTES = 512 * 1024 * 1024;

if (!fs.existsSync(ledgerPath) || !fs.existsSync(startedPath)) {
  console.error('leak-scan: no token ledger from a test run (.test-output/issued-tokens.txt); run the tests first');
  process.exit(1);
}
const tokens = [...new Set(fs.readFileSync(ledgerPath, 'utf8').split('\n').filter((t) => t.length >= 16))];
const startedAt = Number(fs.readFileSync(startedPath, 'utf8')) - 1000;
const needles = tokens.map((token) => Buffer.from(token));

let scanned = 0;
let bytes = 0;
const hits = [];
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue;
      walk(full);
    } else if (entry.isFile() && full !== ledgerPath) {
      const stat = fs.statSync(full);
      if (stat.mtimeMs < startedAt || stat.size > MAX_FILE_BYTES) continue;
      const content = fs.readFileSync(full);
      scanned++;
      bytes += content.length;
      for (let i = 0; i < needles.length; i++) {
        if (content.includes(needles[i])) hits.push(`${path.relative(root, full)} contains issued token #${i + 1}`);
      }
    }
  }
}
walk(root);
console.log(`leak-scan: ${tokens.length} issued bot tokens searched in ${scanned} files (${(bytes / 1048576).toFixed(1)} MiB) written by this run`);
if (tokens.length === 0) {
  console.error('leak-scan: the ledger is empty, so the scan proves nothing; is ILINK_TOKEN_LEDGER reaching the simulator?');
  process.exit(1);
}
if (hits.length > 0) {
  console.error(`leak-scan: the bot token leaked:\n  ${hits.join('\n  ')}`);
  process.exit(1);
}
console.log('leak-scan: no token found');
