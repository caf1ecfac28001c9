/**
 * Runs the built CLI (dist/bin/ilink-cli.js) as a child process, with pipes or
 * inside a real pseudo-terminal (util-linux `script`), so a test sees what a
 * user sees: exit code, stdout, stderr, and Ctrl-C as the terminal delivers it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../harness/output';

export const CLI = path.join(projectRoot, 'dist', 'bin', 'ilink-cli.js');

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` shows on stdout; fails after timeoutMs (or if the CLI exits first). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code (null when killed by a signal) and when it happened. */
  exited: Promise<Exit>;
  /** The exit, if it comes within timeoutMs; else the CLI is killed and this fails. */
  exitWithin(timeoutMs: number): Promise<Exit>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

const running = new Set<ChildProcess>();

/** Kills what a failed test left running (a hung CLI must not outlive its test). */
export function killLeftoverClis(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export interface CliOptions {
  node?: string;
  env?: NodeJS.ProcessEnv;
  /** Run inside a pseudo-terminal: stdout is a TTY, and '\x03' written to stdin is a real Ctrl-C. */
  terminal?: boolean;
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function startCli(args: string[], options: CliOptions = {}): CliRun {
  if (!existsSync(CLI)) throw new Error(`run \`npm run build\` first: ${CLI} is missing`);
  const node = options.node ?? process.execPath;
  const env = options.env ?? process.env;
  const child = options.terminal
    ? // -q: no banner; -e: exit with the CLI's code; -c: the command; /dev/null: no typescript file.
      spawn('script', ['-qec', [node, CLI, ...args].map(shellQuote).join(' '), '/dev/null'], { env, stdio: 'pipe' })
    : spawn(node, [CLI, ...args], { env, stdio: 'pipe' });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  // A terminal turns \n into \r\n.
  const clean = (text: string) => (options.terminal ? text.replace(/\r/g, '') : text);
  child.stdout?.on('data', (chunk: Buffer) => {
    out += clean(chunk.toString('utf8'));
    for (const listener of listeners) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += clean(chunk.toString('utf8'))));
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, at: Date.now() });
      for (const listener of listeners) listener();
    }),
  );
  const waitForOutput = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(out)) done();
        else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`the CLI exited before printing ${pattern}:\n${out}\n${err}`));
      };
      const timer = setTimeout(() => done(new Error(`no ${pattern} on stdout within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      listeners.add(check);
      check();
    });
  const exitWithin = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the CLI did not exit within ${timeoutMs} ms:\n${out}\n${err}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([exited, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, stdout: () => out, stderr: () => err, waitForOutput, exited, exitWithin };
}

/** Runs the CLI to its end (bounded): for commands that must not wait on anything. */
export async function runCli(args: string[], options: CliOptions = {}, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args, options);
  const { code } = await run.exitWithin(timeoutMs);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** The environment of a colour terminal: no NO_COLOR, FORCE_COLOR or CI (Node's hasColors reads them). */
export function colourTerminalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS', 'CI']) if (!(name in extra)) delete env[name];
  return env;
}
