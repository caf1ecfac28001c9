/**
 * A bot's state in Redis, shared by every process of one n8n in queue mode
 * (main polls, workers send). The same journal-plus-snapshot idea as the
 * file store, on Redis's own structures:
 *
 * - `<prefix>:{<bot key>}:journal`, a stream: one entry per record() (the
 *   changes as JSON, and which process wrote them). Its order is the state's
 *   order for every process.
 * - `:snapshot` and `:covers`: the whole state up to a journal entry, and that
 *   entry's ID. Any process rewrites them now and then and trims the journal
 *   before that entry.
 * - `:lock:<user ID>`: held while a process sends to that user, so that the
 *   sends of two processes keep their order and never spend one budget twice.
 * - `:receiver`: who polls the bot (one poller per bot, §10), a lease its
 *   holder renews.
 *
 * Keys name the bot by its key (its ID, or a hash of its token): the token is
 * in no key and no value. The braces keep every key of a bot on one Redis
 * Cluster slot, as the scripts need.
 *
 * record() stays synchronous for BotState: it queues an XADD and returns;
 * durable() resolves when every queued XADD was acknowledged. The poller
 * awaits it before a fetched message is handed over.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { silentLogger, type Logger } from './log';
import { isProcessAlive, PollerConflictError } from './poll-registry';
import {
  applyChanges,
  emptySnapshot,
  normalizeSnapshot,
  parseChange,
  pruneSnapshot,
  safeAccountId,
  type BotStateSnapshot,
  type ReceiverClaim,
  type RemoteChanges,
  type StateChange,
  type StateStore,
} from './store';

/** What the store needs of a Redis client: one command at a time (ioredis's `call`). */
export interface RedisCommands {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
}

export interface RedisStateStoreOptions {
  redis: RedisCommands;
  /** The bot's key (botKeyFor: its ID, or a hash of its token, never the token). */
  botKey: string;
  /** First part of every key. Default 'wechat-ilink'. */
  prefix?: string;
  /** Journal entries after the snapshot before a process rewrites it. Default 1000. */
  compactEvery?: number;
  /** How long a user's send lock lasts unless renewed (it is renewed while held). Default 30 s. */
  lockLeaseMs?: number;
  /** How often a process waiting for a user's lock asks again. Default 20 ms. */
  lockPollMs?: number;
  /** Wait before a write that Redis refused is tried again. Default 1 s. */
  retryMs?: number;
  /** How long the receiver claim lasts unless renewed (it is renewed while polling): the longest wait after a holder died elsewhere. Default 20 s. */
  receiverLeaseMs?: number;
  logger?: Logger;
  /** The state to start from when Redis holds none for this bot yet (an upgrade from the state file). */
  seed?: () => BotStateSnapshot | undefined;
}

/** Journal entries read per request. */
const PAGE = 500;

/**
 * The covered entry ID, the journal after ARGV[1] (after the covered entry
 * when ARGV[3] is '1', with the snapshot too), at one instant: a compaction
 * between two reads would hide a gap.
 */
const READ_SCRIPT = `
local covers = redis.call('GET', KEYS[2])
local from = ARGV[1]
local snapshot = false
if ARGV[3] == '1' then
  snapshot = redis.call('GET', KEYS[1])
  from = snapshot and covers or '0-0'
end
return {covers, redis.call('XRANGE', KEYS[3], '(' .. from, '+', 'COUNT', ARGV[2]), snapshot}`;

/** The first snapshot, unless there is one. */
const SEED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '0-0')
return 1`;

/** Writes a snapshot unless a newer one is there, then trims the journal before it. */
const COMPACT_SCRIPT = `
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local current = redis.call('GET', KEYS[2])
if current then
  local cm, cs = parts(current)
  local nm, ns = parts(ARGV[1])
  if cm > nm or (cm == nm and cs >= ns) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[1])
return 1`;

/**
 * Extends a lease while this process holds it, or takes it again when it ran out and nobody took it
 * (Redis was away longer than the lease); 0 when another process holds it.
 */
const RENEW_SCRIPT = `local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
/** Releases a lease only while this process holds it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type JournalEntry = [id: string, fields: string[]];

/** A key this process holds for a time and renews: the receiver claim, or a user's send lock. */
type Lease = ReceiverClaim;

/** Who holds the receiver claim (no secret: it names the owner, e.g. 'n8n workflow 12 "Orders"'). */
interface ReceiverRecord {
  owner: string;
  host: string;
  pid: number;
  since: string;
  id: string;
}

function receiverRecordOf(raw: string): ReceiverRecord | undefined {
  const parsed = parseJson(raw) as Partial<ReceiverRecord> | undefined;
  return typeof parsed?.owner === 'string' && typeof parsed.host === 'string' && typeof parsed.pid === 'number' ? (parsed as ReceiverRecord) : undefined;
}

export class RedisStateStore implements StateStore {
  private readonly redis: RedisCommands;
  private readonly keys: { journal: string; snapshot: string; covers: string; lock: string; receiver: string };
  private readonly botKey: string;
  private readonly receiverLeaseMs: number;
  private readonly writer = randomUUID();
  private readonly compactEvery: number;
  private readonly lockLeaseMs: number;
  private readonly lockPollMs: number;
  private readonly retryMs: number;
  private readonly logger: Logger;
  /** The state at `lastId`, in the journal's order (what a snapshot is made of). */
  private mirror: BotStateSnapshot = emptySnapshot();
  private lastId = '0-0';
  /** Journal entries this process has read after the snapshot it started from. */
  private entriesSinceSnapshot = 0;
  private stored = false;
  private writing: Promise<void> = Promise.resolve();
  private pulling: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(options: RedisStateStoreOptions) {
    this.redis = options.redis;
    const base = `${options.prefix ?? 'wechat-ilink'}:{${safeAccountId(options.botKey)}}`;
    this.keys = { journal: `${base}:journal`, snapshot: `${base}:snapshot`, covers: `${base}:covers`, lock: `${base}:lock:`, receiver: `${base}:receiver` };
    this.botKey = options.botKey;
    this.receiverLeaseMs = options.receiverLeaseMs ?? 20_000;
    this.compactEvery = options.compactEvery ?? 1000;
    this.lockLeaseMs = options.lockLeaseMs ?? 30_000;
    this.lockPollMs = options.lockPollMs ?? 20;
    this.retryMs = options.retryMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
  }

  /** Reads the bot's state from Redis (seeding it when there is none yet); then hand the store to a BotState. */
  static async open(options: RedisStateStoreOptions): Promise<RedisStateStore> {
    const store = new RedisStateStore(options);
    await store.readAll();
    if (!store.stored && options.seed) await store.seedWith(options.seed());
    return store;
  }

  load(): BotStateSnapshot | undefined {
    return this.stored ? structuredClone(this.mirror) : undefined;
  }

  record(changes: readonly StateChange[]): void {
    if (changes.length === 0) return;
    const payload = JSON.stringify(changes);
    this.writing = this.writing.then(() => this.append(payload));
  }

  durable(): Promise<void> {
    return this.writing;
  }

  pull(): Promise<RemoteChanges> {
    // One at a time: two reads from the same position would hand the same changes over twice.
    const next = this.pulling.then(() => this.pullOnce());
    this.pulling = next.catch(() => undefined);
    return next;
  }

  private async pullOnce(): Promise<RemoteChanges> {
    await this.durable();
    const changes: StateChange[] = [];
    const caughtUp = await this.readOn((entry) => {
      if (entry.writer !== this.writer) changes.push(...entry.changes);
    });
    if (!caughtUp) {
      // Another process compacted what this one had not read yet: start again from its snapshot.
      await this.readAll();
      return { snapshot: structuredClone(this.mirror) };
    }
    if (this.entriesSinceSnapshot >= this.compactEvery) await this.compact();
    return { changes };
  }

  async exclusive<T>(userId: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = this.keys.lock + userId;
    const holder = randomUUID();
    let askedAt = Date.now();
    while ((await this.redis.call('SET', key, holder, 'NX', 'PX', this.lockLeaseMs)) !== 'OK') {
      await sleep(this.lockPollMs, undefined, { signal });
      askedAt = Date.now();
    }
    // A send that waits out a rate limit can take two minutes: the lease is renewed while it runs.
    const lease = this.keepLease(key, holder, this.lockLeaseMs, 'send lock', askedAt, () => {
      this.logger.warn(`another process took the send lock for a user while this process's send went on (Redis did not answer for longer than the ${this.lockLeaseMs} ms lease): their sends to that user may interleave`);
    });
    try {
      return await work();
    } finally {
      await lease.release();
    }
  }

  async claimReceiver(owner: string, onLost: (error: Error) => void, signal: AbortSignal): Promise<ReceiverClaim> {
    const key = this.keys.receiver;
    const lease = this.receiverLeaseMs;
    const value = JSON.stringify({ owner, host: hostname(), pid: process.pid, since: new Date().toISOString(), id: randomUUID() } satisfies ReceiverRecord);
    const started = Date.now();
    let askedAt = Date.now();
    while ((await this.redis.call('SET', key, value, 'NX', 'PX', lease)) !== 'OK') {
      const raw = (await this.redis.call('GET', key)) as string | null;
      const holder = raw ? receiverRecordOf(raw) : undefined;
      if (raw && holder?.host === hostname() && !isProcessAlive(holder.pid)) {
        // Left by a process of this machine that is gone (a crash, a SIGKILL): take it over.
        await this.redis.call('EVAL', RELEASE_SCRIPT, 1, key, raw);
        continue;
      }
      // A holder that died on another machine lets its lease run out; one still there after a whole lease renews it: it is alive.
      if (raw && Date.now() - started > lease + lease / 4) {
        throw new PollerConflictError(this.botKey, holder ? `${holder.owner}, process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process');
      }
      await sleep(Math.min(1000, lease / 4), undefined, { signal });
      askedAt = Date.now();
    }
    return this.keepLease(key, value, lease, 'receiver claim', askedAt, () => {
      onLost(new PollerConflictError(this.botKey, 'another process took over receiving for this bot'));
    });
  }

  /**
   * Renews a lease this process holds (taken by a request sent at `takenAt`), at a quarter of its
   * length, until it is released. `onLost` hears once that another process holds the key now.
   * confirm() asks Redis only when the last renewal is older than half a lease: before that the key
   * cannot have expired, and nobody takes a key that has not (SET NX).
   */
  private keepLease(key: string, value: string, leaseMs: number, what: string, takenAt: number, onLost: () => void): Lease {
    let lost = false;
    let released = false;
    /** When the request behind the last successful renewal was sent: the key lives a lease from then. */
    let keptSince = takenAt;
    const renew = async (): Promise<boolean> => {
      // Once released, a late renewal must not take the key again.
      if (lost || released) return false;
      const sentAt = Date.now();
      const kept = (await this.redis.call('EVAL', RENEW_SCRIPT, 1, key, value, leaseMs)) === 1;
      if (kept) keptSince = Math.max(keptSince, sentAt);
      if (!kept && !lost) {
        lost = true;
        clearInterval(timer);
        onLost();
      }
      return kept;
    };
    const confirm = async (): Promise<boolean> => {
      if (lost || released) return false;
      return Date.now() - keptSince < leaseMs / 2 || renew();
    };
    const timer = setInterval(() => {
      renew().catch((error: unknown) => this.logger.warn(`could not renew the ${what} in Redis: ${messageOf(error)}`));
    }, Math.max(1, Math.floor(leaseMs / 4)));
    timer.unref();
    const release = async () => {
      released = true;
      clearInterval(timer);
      await this.redis.call('EVAL', RELEASE_SCRIPT, 1, key, value).catch((error: unknown) => {
        this.logger.warn(`could not release the ${what} in Redis (it expires in ${leaseMs} ms): ${messageOf(error)}`);
      });
    };
    return { confirm, release };
  }

  /** Stops retrying writes (the process is shutting down); what was not written is lost with it. */
  close(): void {
    this.closed = true;
  }

  /** Rewrites the snapshot at what this process has read, and trims the journal before it. */
  async compact(): Promise<void> {
    pruneSnapshot(this.mirror);
    // Refused (0) when another process wrote a newer snapshot meanwhile: that one serves as well.
    await this.redis.call('EVAL', COMPACT_SCRIPT, 3, this.keys.snapshot, this.keys.covers, this.keys.journal, this.lastId, JSON.stringify(this.mirror));
    this.entriesSinceSnapshot = 0;
  }

  private async append(payload: string): Promise<void> {
    for (;;) {
      try {
        await this.redis.call('XADD', this.keys.journal, '*', 'w', this.writer, 'c', payload);
        this.stored = true;
        return;
      } catch (error) {
        // Nothing is handed over until this is stored: wait for Redis rather than go on without it.
        if (this.closed) throw error;
        this.logger.warn(`could not write the bot's state to Redis, retrying in ${this.retryMs} ms: ${messageOf(error)}`);
        await sleep(this.retryMs);
      }
    }
  }

  /** The snapshot, then the whole journal after it. */
  private async readAll(): Promise<void> {
    for (;;) {
      const [covers, entries, raw] = await this.read('0-0', true);
      this.mirror = raw ? normalizeSnapshot(parseJson(raw)) : emptySnapshot();
      this.lastId = raw && covers ? covers : '0-0';
      this.stored = raw !== null || entries.length > 0;
      this.entriesSinceSnapshot = 0;
      this.take(entries);
      if (entries.length < PAGE || (await this.readOn())) return;
      // Compacted while this process read the rest: read again.
    }
  }

  /** Reads the journal after `lastId` to its end; false when a compaction passed `lastId` (entries may be gone). */
  private async readOn(onEntry?: (entry: { writer: string; changes: StateChange[] }) => void): Promise<boolean> {
    for (;;) {
      const [covers, entries] = await this.read(this.lastId, false);
      if (covers && compareIds(covers, this.lastId) > 0) return false;
      for (const entry of this.take(entries)) onEntry?.(entry);
      if (entries.length < PAGE) return true;
    }
  }

  private async read(after: string, withSnapshot: boolean): Promise<[covers: string | null, entries: JournalEntry[], snapshot: string | null]> {
    const [covers, entries, snapshot] = (await this.redis.call(
      'EVAL',
      READ_SCRIPT,
      3,
      this.keys.snapshot,
      this.keys.covers,
      this.keys.journal,
      after,
      PAGE,
      withSnapshot ? '1' : '0',
    )) as [string | null, JournalEntry[], string | null | undefined];
    return [covers, entries, snapshot ?? null];
  }

  /** Applies journal entries to the mirror, in order, and returns them parsed. */
  private take(entries: JournalEntry[]): Array<{ writer: string; changes: StateChange[] }> {
    const taken: Array<{ writer: string; changes: StateChange[] }> = [];
    for (const [id, fields] of entries) {
      const entry = { writer: fieldOf(fields, 'w') ?? '', changes: changesOf(fieldOf(fields, 'c')) };
      applyChanges(this.mirror, entry.changes);
      this.lastId = id;
      this.entriesSinceSnapshot++;
      taken.push(entry);
    }
    return taken;
  }

  /** Writes the first snapshot, unless another process was quicker (then its state is read). */
  private async seedWith(seed: BotStateSnapshot | undefined): Promise<void> {
    if (!seed) return;
    await this.redis.call('EVAL', SEED_SCRIPT, 2, this.keys.snapshot, this.keys.covers, JSON.stringify(normalizeSnapshot(seed)));
    await this.readAll();
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The well-formed changes of one journal entry; a damaged one contributes nothing rather than stopping the bot. */
function changesOf(payload: string | undefined): StateChange[] {
  const parsed = payload === undefined ? undefined : parseJson(payload);
  if (!Array.isArray(parsed)) return [];
  return parsed.map(parseChange).filter((change): change is StateChange => change !== undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Orders two stream IDs (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
