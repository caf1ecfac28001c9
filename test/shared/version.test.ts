import { PACKAGE_NAME, PACKAGE_VERSION } from '../../shared/version';

test('the version constant matches package.json', () => {
  const pkg = require('../../package.json');
  expect(PACKAGE_VERSION).toBe(pkg.version);
  expect(PACKAGE_NAME).toBe(pkg.name);
});
