/**
 * Runs as part of the Node 20 pass (scripts/core-on-node20.js) and in the main
 * pass: it pins down what the core needs from the runtime.
 */
test('the core loads and its runtime needs are met on this Node', () => {
  const major = Number(process.versions.node.split('.')[0]);
  expect(major).toBeGreaterThanOrEqual(20);
  expect(typeof AbortSignal.any).toBe('function');
  expect(typeof structuredClone).toBe('function');
  const core = require('../../shared');
  expect(typeof core.ILinkClient).toBe('function');
  expect(typeof core.LoginSession.start).toBe('function');
});

test('undici works here (7.x needs Node ≥ 20.18.1)', () => {
  const [major, minor, patch] = process.versions.node.split('.').map(Number);
  if (major === 20) expect(minor > 18 || (minor === 18 && patch >= 1)).toBe(true);
  expect(() => require('undici')).not.toThrow();
});
