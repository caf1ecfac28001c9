/** This package's version; a test keeps it equal to package.json's. */
export const PACKAGE_VERSION = '0.1.0';
export const PACKAGE_NAME = 'n8n-nodes-wechat-ilink';
