/**
 * A host (Node-RED, n8n) started as the leader of its own process group, with
 * its output in a log file rather than on the demo's terminal (hosts are
 * chatty, and the terminal is for the URLs). Stopping signals the whole group,
 * so n8n's task runner goes too: Ctrl-C leaves no orphans.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export interface HostGroup {
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<void>;
  isRunning(): boolean;
  logText(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const liveGroups = new Set<number>();
// Last resort if the demo dies without stopping its hosts (an uncaught error).
process.once('exit', () => {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export function startHostGroup(options: { name: string; command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string; logFile: string }): HostGroup {
  const fd = fs.openSync(options.logFile, 'a');
  // detached: a new process group, so that the terminal's Ctrl-C reaches only
  // the demo, which then stops each host in order (deploys finish, state is saved).
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}`);
  liveGroups.add(pid);
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false;
      resolve();
    });
    child.once('error', () => {
      running = false;
      resolve();
    });
  });
  return {
    name: options.name,
    logFile: options.logFile,
    exited,
    isRunning: () => running,
    logText: () => (fs.existsSync(options.logFile) ? fs.readFileSync(options.logFile, 'utf8') : ''),
    async stop(graceMs = 8000) {
      if (running) {
        signalGroup(pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') signalGroup(pid, 'SIGKILL');
        await exited;
      }
      // The leader may be gone while a child of it lingers.
      signalGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
    },
  };
}

/** Polls `check` until true; fails early, with the log's tail, if the host died. */
export async function waitFor(what: string, host: HostGroup, check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!host.isRunning()) throw new Error(`${host.name} exited while waiting for ${what}; last lines of ${host.logFile}:\n${tail(host.logText())}`);
    try {
      if (await check()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${host.name}: ${what} not ready after ${timeoutMs / 1000} s; see ${host.logFile}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function tail(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}
