import { DEFAULT_POLLER_TIMINGS, ValidationError, pollerTimingsFromEnv } from '../../shared';

describe('pollerTimingsFromEnv', () => {
  it('is undefined when the variable is unset or blank', () => {
    expect(pollerTimingsFromEnv({})).toBeUndefined();
    expect(pollerTimingsFromEnv({ WECHAT_ILINK_POLLER_TIMINGS: '  ' })).toBeUndefined();
  });

  it('reads known keys as whole milliseconds', () => {
    expect(pollerTimingsFromEnv({ WECHAT_ILINK_POLLER_TIMINGS: '{"retryMs":50,"longRetryMs":200,"failuresBeforeLongRetry":0}' })).toEqual({
      retryMs: 50,
      longRetryMs: 200,
      failuresBeforeLongRetry: 0,
    });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[1]', /must be a JSON object/],
    ['{"retry":5}', new RegExp(`unknown key "retry" \\(known: ${Object.keys(DEFAULT_POLLER_TIMINGS).join(', ')}\\)`)],
    ['{"retryMs":-1}', /"retryMs" must be a whole number/],
    ['{"retryMs":1.5}', /"retryMs" must be a whole number/],
    ['{"retryMs":"50"}', /"retryMs" must be a whole number/],
  ])('refuses %s with a clear ValidationError', (raw, message) => {
    let caught: unknown;
    try {
      pollerTimingsFromEnv({ WECHAT_ILINK_POLLER_TIMINGS: raw });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as Error).message).toMatch(message);
  });
});
