/**
 * Poller timings from the environment, for the hosts (n8n, Node-RED).
 *
 * The defaults follow the protocol sheet (§5.4: 2 s after a failure, 30 s after
 * three in a row, one hour after -14 with the 'pause' policy). Operators behind
 * a flaky proxy, and our own host tests (which must not sleep for real backoff
 * times), can override them with one JSON variable:
 *
 *   WECHAT_ILINK_POLLER_TIMINGS='{"retryMs":50,"longRetryMs":200}'
 *
 * The core itself never reads the environment; hosts pass the result to
 * createPoller({ timings }).
 */
import { ValidationError } from './errors';
import { DEFAULT_POLLER_TIMINGS, type PollerTimings } from './poller';

export const POLLER_TIMINGS_ENV = 'WECHAT_ILINK_POLLER_TIMINGS';

export function pollerTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<PollerTimings> | undefined {
  const raw = env[POLLER_TIMINGS_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError(`${POLLER_TIMINGS_ENV} is not valid JSON: fix or unset it (example: {"retryMs":2000})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(`${POLLER_TIMINGS_ENV} must be a JSON object such as {"retryMs":2000}`);
  }
  const timings: Partial<PollerTimings> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in DEFAULT_POLLER_TIMINGS)) {
      throw new ValidationError(`${POLLER_TIMINGS_ENV}: unknown key "${key}" (known: ${Object.keys(DEFAULT_POLLER_TIMINGS).join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ValidationError(`${POLLER_TIMINGS_ENV}: "${key}" must be a whole number of milliseconds (or a count) ≥ 0`);
    }
    timings[key as keyof PollerTimings] = value;
  }
  return timings;
}
