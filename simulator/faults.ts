/**
 * Injected API faults, consumed in order per endpoint. They simulate what a
 * client must survive: gateway errors, slow or dropped connections, bodies
 * that do not parse, and the -14 / -2 answers (§2 error model, §5).
 */
import { Endpoint, type EndpointName } from '../shared/wire';

export type FaultKind = 'http5xx' | 'delay' | 'drop' | 'malformed' | 'errcode-14' | 'ret-2' | 'ret' | 'slowBody';

export const FAULT_KINDS: readonly FaultKind[] = ['http5xx', 'delay', 'drop', 'malformed', 'errcode-14', 'ret-2', 'ret', 'slowBody'];

export interface FaultSpec {
  endpoint: EndpointName;
  kind: FaultKind;
  /** How many requests the fault applies to (default 1). */
  count?: number;
  /** HTTP status for http5xx (default 500). */
  status?: number;
  /** delay: wait before answering (default 1000). slowBody: pause between body chunks (default 200). */
  delayMs?: number;
  /** ret value for kind 'ret' (default -1). */
  ret?: number;
}

interface PendingFault {
  spec: FaultSpec;
  remaining: number;
}

export class FaultBook {
  private readonly queues = new Map<EndpointName, PendingFault[]>();

  add(spec: FaultSpec): void {
    if (!(spec.endpoint in Endpoint)) throw new Error(`unknown endpoint ${String(spec.endpoint)}; use one of ${Object.keys(Endpoint).join(', ')}`);
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}; use one of ${FAULT_KINDS.join(', ')}`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error('fault count must be a positive integer');
    const queue = this.queues.get(spec.endpoint) ?? [];
    queue.push({ spec: { ...spec }, remaining: count });
    this.queues.set(spec.endpoint, queue);
  }

  /** The fault for the next request to this endpoint, if any (consumes one use). */
  take(endpoint: EndpointName): FaultSpec | undefined {
    const queue = this.queues.get(endpoint);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head.spec;
  }

  pending(): FaultSpec[] {
    return [...this.queues.values()].flatMap((queue) => queue.map((fault) => ({ ...fault.spec, count: fault.remaining })));
  }

  reset(): void {
    this.queues.clear();
  }
}
