/**
 * One receiver per bot (§10 "One poller"): iLink hands each update to one
 * getupdates caller, so two pollers on one bot split the message stream and
 * race on its state. A second one is refused with a message that names the
 * holder and says what to do.
 *
 * Within a process a registry holds the claims; across processes, a lock file
 * per key in a machine-wide folder (WECHAT_ILINK_LOCK_DIR, default
 * `<tmpdir>/wechat-ilink-locks`). A lock whose process is gone (a crash, a
 * SIGKILL) or that its holder stopped refreshing is taken over.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ILinkError } from './errors';

export const LOCK_DIR_ENV = 'WECHAT_ILINK_LOCK_DIR';
/** The holder touches its lock this often… */
export const LOCK_REFRESH_MS = 10_000;
/** …and a lock not touched for this long is stale even if its PID is alive (a PID reused after a restart). */
export const LOCK_STALE_MS = 60_000;

export class PollerConflictError extends ILinkError {
  constructor(
    readonly botKey: string,
    readonly holder: string,
  ) {
    super(
      `another receiver is already polling this bot (${holder}); only one may receive messages for a bot at a time: ` +
        'stop or deactivate the other one, or use a different bot',
    );
  }
}

// Kept on globalThis so that two copies of this module (n8n and Node-RED may each
// load the package) still share one registry.
const REGISTRY = Symbol.for('n8n-nodes-wechat-ilink.pollers');
const holders: Map<string, string> = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, string>());

interface LockRecord {
  pid: number;
  host: string;
  owner: string;
  since: string;
}

export function lockDirectory(): string {
  return process.env[LOCK_DIR_ENV]?.trim() || join(tmpdir(), 'wechat-ilink-locks');
}

/**
 * Claims the bot under every key (its ID, a hash of its token, its state
 * file) for `owner`, in this process and across processes. Returns a release
 * function (safe to call twice). Throws PollerConflictError.
 */
export function claimPoller(keys: string | readonly string[], owner: string): () => void {
  const all = [...new Set(typeof keys === 'string' ? [keys] : keys)];
  for (const key of all) {
    const holder = holders.get(key);
    if (holder !== undefined) throw new PollerConflictError(key, holder);
  }
  const locks: FileLock[] = [];
  try {
    for (const key of all) locks.push(FileLock.acquire(key, owner));
  } catch (error) {
    for (const lock of locks) lock.release();
    throw error;
  }
  for (const key of all) holders.set(key, owner);
  const refresh = setInterval(() => {
    for (const lock of locks) lock.touch();
  }, LOCK_REFRESH_MS);
  refresh.unref();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    clearInterval(refresh);
    for (const lock of locks) lock.release();
    for (const key of all) if (holders.get(key) === owner) holders.delete(key);
  };
}

class FileLock {
  private constructor(
    private readonly path: string,
    private readonly content: string,
  ) {}

  static acquire(key: string, owner: string): FileLock {
    const dir = lockDirectory();
    // The key may be a bot ID or a path: the file is named by its hash, and holds no secret.
    const path = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.lock`);
    const record: LockRecord = { pid: process.pid, host: hostname(), owner, since: new Date().toISOString() };
    const content = JSON.stringify(record);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, content, { flag: 'wx', mode: 0o600 });
        return new FileLock(path, content);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readLock(path);
      if (holder && !isStale(path, holder)) {
        throw new PollerConflictError(key, `${holder.owner}, process ${holder.pid} on ${holder.host} since ${holder.since}; lock file ${path}`);
      }
      // Its process is gone: take it over.
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    throw new PollerConflictError(key, `another process that keeps taking the lock file ${path}`);
  }

  touch(): void {
    try {
      const now = new Date();
      utimesSync(this.path, now, now);
    } catch {
      // Removed by hand or by a taker: nothing to refresh; the in-process claim still holds.
    }
  }

  release(): void {
    try {
      // Only our own lock: after a takeover the file belongs to someone else.
      if (readFileSync(this.path, 'utf8') === this.content) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function readLock(path: string): LockRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockRecord>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.owner === 'string') return value as LockRecord;
  } catch {
    // Torn or unreadable: treated as stale.
  }
  return undefined;
}

function isStale(path: string, holder: LockRecord): boolean {
  if (holder.host !== hostname()) return ageMs(path) > LOCK_STALE_MS;
  // Our own PID but not in this process's registry: left by an earlier life of this PID (a restarted container).
  if (holder.pid === process.pid) return true;
  if (!isProcessAlive(holder.pid)) return true;
  return ageMs(path) > LOCK_STALE_MS;
}

/** Whether a process of this machine with this PID runs (one we may not signal counts as running). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
