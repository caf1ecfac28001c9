/**
 * Knows when a flow has finished with a msg that ilink-in sent, so that the
 * poller records the message as handled only then.
 *
 * Why: the poller marks a message handled as soon as ilink-in's handle()
 * returns, and a message marked handled is never delivered again. If handle()
 * returned right after node.send(), a crash while the flow was still working
 * (the reply's request in flight, a slow step) lost the message for good: the
 * restarted runtime skipped it. Waiting for the flow makes delivery
 * at-least-once through the whole flow, as the core promises for a handler.
 *
 * How: Node-RED's message hooks, followed by the msg's _msgid (kept by
 * clones and by nodes that pass the msg on). Each delivery of it to a node
 * (preDeliver) is outstanding until that node calls done() (onComplete); a
 * node whose input handler takes no done callback (e.g. the core switch node)
 * never calls it, so its delivery ends once its handler has run (postReceive).
 * The flow is finished when nothing is outstanding.
 *
 * What it cannot see: a msg that a node replaces by a new one with another
 * _msgid, work a node does after calling done(), messages handed on outside
 * the wires (Catch nodes, link nodes that call receive() directly). There
 * the wait ends early, as it did before. It also never waits longer than
 * `timeoutMs`: a node that forgets done() must not stop the bot. The nodes
 * still outstanding then are not waited for again (in this runtime), so a
 * forgotten done() costs one wait, not one per message.
 *
 * Cost: the next message of the same user waits until the flow has finished
 * the previous one (the core runs each user's handlers one at a time);
 * different users' messages are followed side by side.
 */
import { randomBytes } from 'node:crypto';
import type { NodeMessage } from './red-api';

/** The part of RED.hooks used here (Node-RED 1.3+). */
export interface MessageHooks {
  add(name: string, callback: (event: any) => void): void;
  remove(name: string): void;
}

interface Tracked {
  /** Outstanding deliveries per destination node id. */
  readonly outstanding: Map<string, number>;
  total: number;
  finish(): void;
}

const LABEL = 'ilink-in-flow-completion';

export const FLOW_COMPLETION_TIMEOUT_MS = 30_000;

/** True when the node's input handler takes done(), so the runtime will report its completion. */
function takesDone(node: unknown): boolean {
  const expected = (node as { _expectedDoneCount?: unknown } | undefined)?._expectedDoneCount;
  return typeof expected === 'number' && expected > 0;
}

export class FlowCompletion {
  private readonly tracked = new Map<string, Tracked>();
  /** Nodes that did not call done() within the timeout once: their deliveries end when their handler has run. */
  private readonly notReporting = new Set<string>();
  private installed = false;

  constructor(
    private readonly hooks: MessageHooks | undefined,
    private readonly timeoutMs = FLOW_COMPLETION_TIMEOUT_MS,
  ) {}

  /** Whether the runtime offers the hooks; without them send() resolves once the msg is sent. */
  get available(): boolean {
    return typeof this.hooks?.add === 'function';
  }

  /**
   * Sends `msg` with `send` and resolves when the flow has finished with it,
   * after the timeout at the latest ('timeout'), or when `cancel` fires ('cancelled').
   */
  send(msg: NodeMessage, send: (msg: NodeMessage) => void, options: { cancel?: AbortSignal } = {}): Promise<'done' | 'timeout' | 'cancelled'> {
    if (!this.available || options.cancel?.aborted) {
      send(msg);
      return Promise.resolve('done');
    }
    this.install();
    const id = typeof msg._msgid === 'string' && msg._msgid ? msg._msgid : (msg._msgid = randomBytes(8).toString('hex'));
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const end = (outcome: 'done' | 'timeout' | 'cancelled') => {
        if (this.tracked.get(id) !== entry) return;
        this.tracked.delete(id);
        if (timer) clearTimeout(timer);
        options.cancel?.removeEventListener('abort', onCancel);
        resolve(outcome);
      };
      const onCancel = () => end('cancelled');
      const entry: Tracked = { outstanding: new Map(), total: 0, finish: () => end('done') };
      this.tracked.set(id, entry);
      try {
        send(msg);
      } catch (error) {
        end('done');
        throw error;
      }
      // Delivery is counted while send() runs (preDeliver is synchronous): nothing counted, nothing to wait for.
      if (entry.total === 0) return end('done');
      timer = setTimeout(() => {
        for (const node of entry.outstanding.keys()) this.notReporting.add(node);
        end('timeout');
      }, this.timeoutMs);
      timer.unref?.();
      options.cancel?.addEventListener('abort', onCancel, { once: true });
    });
  }

  private install(): void {
    if (this.installed || !this.hooks) return;
    this.installed = true;
    const hooks = this.hooks;
    // One set per runtime; a reload of this module (test helpers) replaces the previous set.
    hooks.remove(`*.${LABEL}`);
    // A hook that returns false would halt the msg: these return nothing and never throw.
    hooks.add(`preDeliver.${LABEL}`, (event) => {
      const entry = this.entryOf(event?.msg);
      const node = event?.destination?.id;
      if (!entry || typeof node !== 'string') return;
      entry.outstanding.set(node, (entry.outstanding.get(node) ?? 0) + 1);
      entry.total++;
    });
    hooks.add(`postReceive.${LABEL}`, (event) => {
      const node = event?.destination;
      if (!takesDone(node?.node) || this.notReporting.has(node?.id)) this.ended(event?.msg, node?.id);
    });
    hooks.add(`onComplete.${LABEL}`, (event) => {
      // A node no longer waited for already ended its delivery when its handler ran.
      if (!this.notReporting.has(event?.node?.id)) this.ended(event?.msg, event?.node?.id);
    });
  }

  private entryOf(msg: unknown): Tracked | undefined {
    const id = (msg as { _msgid?: unknown } | undefined)?._msgid;
    return typeof id === 'string' ? this.tracked.get(id) : undefined;
  }

  private ended(msg: unknown, node: unknown): void {
    const entry = this.entryOf(msg);
    if (!entry || typeof node !== 'string') return;
    const count = entry.outstanding.get(node) ?? 0;
    // Only deliveries we counted (a Catch node gets the msg without a delivery).
    if (count === 0) return;
    if (count === 1) entry.outstanding.delete(node);
    else entry.outstanding.set(node, count - 1);
    if (--entry.total === 0) entry.finish();
  }
}
