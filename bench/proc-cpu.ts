/** CPU time of host processes from /proc (Linux), for the idle measurements. */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { msSince, now } from './measure';

const CLK_TCK = 100;

function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process in seconds. */
export function procCpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / CLK_TCK : undefined;
}

/** The process and all its live descendants (n8n starts its task runner as a child). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** utime + stime summed over the tree, as it is now (the pid list is taken once, at the start). */
export function treeCpuSeconds(pids: number[]): number | undefined {
  let total = 0;
  let any = false;
  for (const pid of pids) {
    const seconds = procCpuSeconds(pid);
    if (seconds === undefined) continue;
    total += seconds;
    any = true;
  }
  return any ? total : undefined;
}

/**
 * A host found by its working directory: Node-RED and n8n set process.title,
 * so their command lines do not name them, but the harness starts each in its
 * own run folder. Children (n8n's task runner) may share that folder: the
 * root is the one whose parent is not among them.
 */
export function hostRootPid(dir: string): number | undefined {
  const inDir = new Set<number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`) === dir) inDir.add(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return [...inDir].find((pid) => !inDir.has(Number(statFields(pid)?.[1])));
}

export interface CpuTarget {
  name: string;
  /** Cumulative CPU seconds, or undefined when the process is unknown. */
  cpu: () => number | undefined;
}

export const processTarget = (name: string, pid: number | undefined): CpuTarget => ({ name, cpu: () => (pid ? procCpuSeconds(pid) : undefined) });

export function treeTarget(name: string, rootPid: number | undefined): CpuTarget {
  const pids = rootPid ? processTree(rootPid) : [];
  return { name, cpu: () => treeCpuSeconds(pids) };
}

/** % of one core each target used over `seconds`, plus this process (the simulator). */
export async function idleCpu(targets: CpuTarget[], seconds: number): Promise<Map<string, number | undefined>> {
  const before = targets.map((t) => t.cpu());
  const selfBefore = process.cpuUsage();
  const start = now();
  await sleep(seconds * 1000);
  const elapsed = msSince(start) / 1000;
  const self = process.cpuUsage(selfBefore);
  const result = new Map<string, number | undefined>();
  targets.forEach((t, i) => {
    const after = t.cpu();
    const b = before[i];
    result.set(t.name, after !== undefined && b !== undefined ? ((after - b) / elapsed) * 100 : undefined);
  });
  result.set('simulator (bench process)', ((self.user + self.system) / 1e6 / elapsed) * 100);
  return result;
}

/**
 * Waits until a target's CPU over `sampleS` seconds is below `belowPct` % of a
 * core (at most `maxS`). A host that has just started or just run many
 * executions keeps its garbage collector busy for a while (n8n: seconds of GC
 * per minute after a burst), which is not the idle cost of what stays active.
 */
export async function settle(target: CpuTarget, belowPct: number, sampleS = 5, maxS = 60): Promise<{ seconds: number; lastPct: number | undefined }> {
  const start = now();
  let lastPct: number | undefined;
  while (msSince(start) / 1000 < maxS) {
    const before = target.cpu();
    const t0 = now();
    await sleep(sampleS * 1000);
    const after = target.cpu();
    if (before === undefined || after === undefined) break;
    lastPct = ((after - before) / (msSince(t0) / 1000)) * 100;
    if (lastPct < belowPct) break;
  }
  return { seconds: msSince(start) / 1000, lastPct };
}
