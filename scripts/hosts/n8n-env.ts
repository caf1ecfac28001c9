/**
 * Environment for a local n8n (the demo's and the tests'): loopback only, our
 * ports, our user folder, our compiled nodes (when loaded from folders), and
 * everything that phones home off (these machines have no internet).
 * See shared/recipes/hosts-in-tests.md.
 */
export interface N8nEnvInput {
  userFolder: string;
  port: number;
  brokerPort: number;
  /** Folders of loose *.node.js files; none when the nodes come as an installed package. */
  customExtensionDirs?: string[];
}

export function n8nEnv(input: N8nEnvInput): Record<string, string> {
  return {
    N8N_USER_FOLDER: input.userFolder,
    N8N_PORT: String(input.port),
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    N8N_HOST: '127.0.0.1',
    N8N_PROTOCOL: 'http',
    WEBHOOK_URL: `http://127.0.0.1:${input.port}/`,
    N8N_SECURE_COOKIE: 'false',
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_HIRING_BANNER_ENABLED: 'false',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
    N8N_RUNNERS_MODE: 'internal',
    N8N_RUNNERS_BROKER_PORT: String(input.brokerPort),
    DB_TYPE: 'sqlite',
    // `;`-separated; n8n globs each for **/*.node.js and **/*.credentials.js.
    ...(input.customExtensionDirs ? { N8N_CUSTOM_EXTENSIONS: input.customExtensionDirs.join(';') } : {}),
    NODE_ENV: 'production',
  };
}
