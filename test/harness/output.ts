import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root (test/harness/ is two levels down). */
export const projectRoot = path.resolve(__dirname, '..', '..');

/** Git-ignored folder for logs, screenshots and per-test host state. */
export const testOutputRoot = path.join(projectRoot, '.test-output');

/** Git-ignored folder where the install scripts put the hosts. */
export const hostsRoot = path.join(projectRoot, '.hosts');

/**
 * A fresh folder under .test-output/ for one test or one host instance.
 * The name gets a timestamp + counter so parallel jest workers and repeated
 * starts never share a folder; earlier runs stay for inspection.
 */
let counter = 0;
export function outputDir(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(testOutputRoot, `${safe}-${stamp}-${process.pid}-${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A stable (not timestamped) folder, e.g. for screenshots that tests overwrite. */
export function namedOutputDir(...parts: string[]): string {
  const dir = path.join(testOutputRoot, ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
