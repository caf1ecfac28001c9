/**
 * Where a V8 CPU profile (`--cpu-prof`) spends its samples, by owner: our
 * package (dist/), each npm package under node_modules (n8n's own
 * @n8n/* and n8n-* packages separately from their dependencies), Node's
 * internals, GC and idle. Self time only, so the buckets add up to the total.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=25] [from=0] [to=end]
 *
 * `from` and `to` (seconds since the profile started; negative: before its
 * end) keep one window, e.g. without a host's start-up, or one idle period.
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The owner of a script URL: "ours", "node:*", or the npm package that holds it. */
function owner(url: string, functionName: string): string {
  if (!url) return ['(garbage collector)', '(idle)', '(program)'].includes(functionName) ? functionName : '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const packages = [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]!);
  if (packages.length) return packages[packages.length - 1]!;
  if (/\/dist\/(nodes|credentials|shared|node-red)\//.test(path)) return 'ours (dist/)';
  return path;
}

function main(): void {
  const [file, topArg, fromArg, toArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.js <file.cpuprofile> [top] [from s] [to s]');
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const lengthUs = profile.endTime - profile.startTime;
  const at = (arg: string | undefined, fallback: number) => (arg === undefined ? fallback : Number(arg) < 0 ? lengthUs + Number(arg) * 1e6 : Number(arg) * 1e6);
  const fromUs = at(fromArg, 0);
  const toUs = at(toArg, lengthUs);
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs >= fromUs && elapsedUs < toUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });

  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const who = owner(url, functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    const key = `${functionName || '(anonymous)'}  ${who}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    total += us;
  }
  const busy = total - (byOwner.get('(idle)') ?? 0);
  const line = (name: string, us: number) => `  ${(us / 1000).toFixed(0).padStart(8)} ms  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${name}`;
  const window = `${(fromUs / 1e6).toFixed(1)}–${(toUs / 1e6).toFixed(1)} s of ${(lengthUs / 1e6).toFixed(1)} s`;
  console.log(`${file} (${window})\n  wall ${((toUs - fromUs) / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(2)} s (% below: of busy)\n\nBy owner:`);
  for (const [name, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 30)) if (name !== '(idle)') console.log(line(name, us));
  console.log('\nTop functions (self):');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) console.log(line(name, us));
}

main();
