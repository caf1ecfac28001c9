/**
 * Injected API faults, consumed in order per endpoint. They simulate what a
 * client must survive: gateway errors, slow or dropped connections, bodies
 * that do not parse, the -14 / -2 answers (§2 error model, §5), and messages
 * delivered twice (§10 "Duplicates"), rate limiting (§10 "Rate limit").
 */
import { Endpoint, type EndpointName } from '../shared/wire';

export type FaultKind = 'http5xx' | 'delay' | 'drop' | 'malformed' | 'errcode-14' | 'ret-2' | 'ret' | 'slowBody' | 'duplicate' | 'rate-limited';

export const FAULT_KINDS: readonly FaultKind[] = ['http5xx', 'delay', 'drop', 'malformed', 'errcode-14', 'ret-2', 'ret', 'slowBody', 'duplicate', 'rate-limited'];

/** Kinds that only make sense on one endpoint. */
const ONLY_ON: Partial<Record<FaultKind, EndpointName>> = { duplicate: 'getUpdates', 'rate-limited': 'sendMessage' };

export interface FaultSpec {
  endpoint: EndpointName;
  kind: FaultKind;
  /** How many requests the fault applies to (default 1). */
  count?: number;
  /** HTTP status for http5xx (default 500). */
  status?: number;
  /**
   * delay: wait before answering (default 1000). slowBody: pause between body
   * chunks (default 200). duplicate: how long after the first delivery the
   * same messages are delivered again (default 1000).
   */
  delayMs?: number;
  /** ret value for kind 'ret' (default -1). */
  ret?: number;
}

/** A fault as pendingFaults() lists it: `armed` marks a duplicate taken by a request that waits for an answer with messages. */
export interface PendingFault extends FaultSpec {
  armed?: true;
}

interface QueuedFault {
  spec: FaultSpec;
  remaining: number;
}

export class FaultBook {
  private readonly queues = new Map<EndpointName, QueuedFault[]>();
  /** Taken `duplicate` faults not yet used by an answer that carried messages. */
  private armed: FaultSpec[] = [];

  add(spec: FaultSpec): void {
    if (!(spec.endpoint in Endpoint)) throw new Error(`unknown endpoint ${String(spec.endpoint)}; use one of ${Object.keys(Endpoint).join(', ')}`);
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}; use one of ${FAULT_KINDS.join(', ')}`);
    const only = ONLY_ON[spec.kind];
    if (only && spec.endpoint !== only) throw new Error(`fault kind ${spec.kind} applies to endpoint ${only} only`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error('fault count must be a positive integer');
    const queue = this.queues.get(spec.endpoint) ?? [];
    queue.push({ spec: { ...spec }, remaining: count });
    this.queues.set(spec.endpoint, queue);
  }

  /**
   * The fault for the next request to this endpoint, if any (consumes one
   * use). A `duplicate` is armed as well: it waits for the next answer that
   * carries messages (takeArmedDuplicate), so an empty answer does not waste it.
   */
  take(endpoint: EndpointName): FaultSpec | undefined {
    const queue = this.queues.get(endpoint);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    if (head.spec.kind === 'duplicate') this.armed.push(head.spec);
    return head.spec;
  }

  /** The oldest armed duplicate fault, for a getupdates answer that carries messages (consumes it). */
  takeArmedDuplicate(): FaultSpec | undefined {
    return this.armed.shift();
  }

  pending(): PendingFault[] {
    const queued = [...this.queues.values()].flatMap((queue) => queue.map((fault): PendingFault => ({ ...fault.spec, count: fault.remaining })));
    return [...this.armed.map((spec): PendingFault => ({ ...spec, count: 1, armed: true })), ...queued];
  }

  reset(): void {
    this.queues.clear();
    this.armed = [];
  }
}
