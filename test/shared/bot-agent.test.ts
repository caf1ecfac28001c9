import { FALLBACK_BOT_AGENT, sanitizeBotAgent } from '../../shared/bot-agent';

describe('bot_agent sanitizer (§1 grammar)', () => {
  test.each(['MyBot/1.2.0', 'MyBot/1.2.0 (region=cn;env=prod)', 'MyBot/1.2.0 LangChain/0.3.5', 'MyBot/1.2.0-rc.1+build.5'])(
    'passes %s through unchanged',
    (value) => expect(sanitizeBotAgent(value)).toBe(value),
  );

  test('trims and collapses whitespace', () => {
    expect(sanitizeBotAgent('  MyBot/1.0    Other/2  ')).toBe('MyBot/1.0 Other/2');
  });
  test('drops invalid products silently', () => {
    expect(sanitizeBotAgent('MyBot/1.0 bad@name/1 noversion Other/ /x Good/2')).toBe('MyBot/1.0 Good/2');
    expect(sanitizeBotAgent('机器人/1.0 MyBot/1.0')).toBe('MyBot/1.0');
  });
  test('glues a multi-word comment to its product', () => {
    expect(sanitizeBotAgent('MyBot/1.0 (a b   c) X/1')).toBe('MyBot/1.0 (a b c) X/1');
  });
  test('a comment survives only right after an accepted product', () => {
    expect(sanitizeBotAgent('(lonely) MyBot/1.0')).toBe('MyBot/1.0');
    expect(sanitizeBotAgent('bad/ (c) MyBot/1.0')).toBe('MyBot/1.0');
    expect(sanitizeBotAgent('MyBot/1.0 (one) (two)')).toBe('MyBot/1.0 (one)');
  });
  test('comments with parentheses inside, or too long, are dropped', () => {
    expect(sanitizeBotAgent('MyBot/1.0 (a(b)')).toBe('MyBot/1.0');
    expect(sanitizeBotAgent(`MyBot/1.0 (${'x'.repeat(65)})`)).toBe('MyBot/1.0');
    expect(sanitizeBotAgent(`MyBot/1.0 (${'x'.repeat(64)})`)).toBe(`MyBot/1.0 (${'x'.repeat(64)})`);
  });
  test('name and version length limits', () => {
    expect(sanitizeBotAgent(`${'n'.repeat(32)}/1`)).toBe(`${'n'.repeat(32)}/1`);
    expect(sanitizeBotAgent(`${'n'.repeat(33)}/1`)).toBe(FALLBACK_BOT_AGENT);
    expect(sanitizeBotAgent(`a/${'v'.repeat(33)}`)).toBe(FALLBACK_BOT_AGENT);
  });
  test('drops trailing products until the value fits 256 bytes', () => {
    const products = Array.from({ length: 20 }, (_, i) => `Product${i}/1.0.${i}`);
    const result = sanitizeBotAgent(products.join(' '));
    expect(Buffer.byteLength(result)).toBeLessThanOrEqual(256);
    expect(products.join(' ').startsWith(result)).toBe(true);
    expect(result.split(' ').length).toBeGreaterThan(10);
  });
  test('falls back to OpenClaw when nothing survives', () => {
    expect(sanitizeBotAgent('')).toBe('OpenClaw');
    expect(sanitizeBotAgent('   ')).toBe('OpenClaw');
    expect(sanitizeBotAgent('no-slash here')).toBe('OpenClaw');
    expect(sanitizeBotAgent(undefined)).toBe('OpenClaw');
  });
});
