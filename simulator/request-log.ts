/**
 * Every API and CDN request the simulator saw, so client tests can assert the
 * exact headers and bodies (§1). Kept in memory only; never printed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EndpointName } from '../shared/wire';

const LOG_CAP = 5000;

export interface RecordedRequest {
  method: string;
  /** Full request path without the query string (including any base path). */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (uint64 IDs as strings); undefined for GET, CDN or unparseable bodies. */
  body?: unknown;
  /** Raw body text for JSON endpoints. */
  rawBody?: string;
  time: number;
  /** 'main' or 'redirect' (the second listener used for scaned_but_redirect, §3). */
  listener: 'main' | 'redirect';
  endpoint?: EndpointName;
  /** Bot whose valid token authenticated the request. */
  botId?: string;
}

export interface RequestFilter {
  endpoint?: EndpointName;
  path?: string;
  method?: string;
  botId?: string;
  listener?: 'main' | 'redirect';
}

export class RequestLog {
  private entries: RecordedRequest[] = [];

  add(entry: RecordedRequest): RecordedRequest {
    this.entries.push(entry);
    if (this.entries.length > LOG_CAP) this.entries.shift();
    return entry;
  }

  list(filter: RequestFilter = {}): RecordedRequest[] {
    return this.entries
      .filter(
        (entry) =>
          (filter.endpoint === undefined || entry.endpoint === filter.endpoint) &&
          (filter.path === undefined || entry.path === filter.path) &&
          (filter.method === undefined || entry.method === filter.method.toUpperCase()) &&
          (filter.botId === undefined || entry.botId === filter.botId) &&
          (filter.listener === undefined || entry.listener === filter.listener),
      )
      .map((entry) => structuredClone(entry));
  }

  reset(): void {
    this.entries = [];
  }
}
