export * from './wire';
export * from './errors';
export * from './json';
export * from './log';
export * from './bot-agent';
export * from './transport';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version';
