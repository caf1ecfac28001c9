import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * One spawned host (n8n, Node-RED) running as the leader of its own process
 * group, with stdout+stderr appended to a log file. Killing the group also
 * ends the host's own children (n8n's task runner), so nothing is orphaned.
 */
export interface HostProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  logText(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group at once (a crash: no shutdown code runs); resolves once it is gone. */
  kill(): Promise<void>;
}

export interface SpawnHostOptions {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  logFile: string;
}

/** Groups still alive, killed on exit in case a test file forgot stop(). */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

export function spawnHost(options: SpawnHostOptions): HostProcess {
  // Append, so a restart keeps the earlier run's lines in the same file.
  const fd = fs.openSync(options.logFile, 'a');
  fs.writeSync(fd, `\n===== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      // A file descriptor, not a pipe: the log survives a jest crash and no
      // stream keeps jest's event loop alive.
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not spawn ${options.command}`);
  const pid = child.pid;
  liveGroups.add(pid);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      running = false;
      resolve(`spawn error: ${err.message}`);
    });
  });
  // Keep jest from waiting on the child; we track it ourselves.
  child.unref();

  return {
    pid,
    logFile: options.logFile,
    exited,
    isRunning: () => running,
    logText: () => fs.readFileSync(options.logFile, 'utf8'),
    async stop(graceMs = 10_000) {
      if (running) {
        killGroup(pid, 'SIGTERM');
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          killGroup(pid, 'SIGKILL');
          await exited;
        }
      }
      // The leader may be gone while a child (task runner) lingers: sweep the group.
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
    },
    async kill() {
      killGroup(pid, 'SIGKILL');
      await exited;
      liveGroups.delete(pid);
    },
  };
}

/** Last lines of a log, for error messages. */
export function tailOf(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Polls `check` until it returns true. Fails early when the host has exited,
 * with the log tail in the message, instead of waiting for the timeout.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  host: HostProcess,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!host.isRunning()) {
      throw new Error(`${what}: the host exited (${await host.exited}). Log ${host.logFile}:\n${tailOf(host.logText())}`);
    }
    try {
      if (await check()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms. Log ${host.logFile}:\n${tailOf(host.logText())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
