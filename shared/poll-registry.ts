/**
 * One poller per bot per process. iLink hands each update to one getupdates
 * caller; two pollers on one bot would split (or race on) the message stream,
 * so a second one is refused with a message that says what to do.
 */
import { IlinkError } from './errors';

export class PollerConflictError extends IlinkError {
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

/** Claims the bot for `owner`; returns a release function (safe to call twice). Throws PollerConflictError. */
export function claimPoller(botKey: string, owner: string): () => void {
  const holder = holders.get(botKey);
  if (holder !== undefined) throw new PollerConflictError(botKey, holder);
  holders.set(botKey, owner);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (holders.get(botKey) === owner) holders.delete(botKey);
  };
}

export function isPollerClaimed(botKey: string): boolean {
  return holders.has(botKey);
}
