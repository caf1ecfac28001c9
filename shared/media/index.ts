/** Encrypted media (§7): AES-128-ECB, CDN upload and download, voice decoding. */
export * from './errors';
export * from './crypto';
export * from './keys';
export * from './mime';
export * from './http';
export * from './source';
export * from './upload';
export * from './download';
export * from './items';
export * from './voice';
export * from './silk-codec';
