/**
 * A minimal logger shape every host can provide (console, Node-RED's node.log,
 * n8n's this.logger), and a wrapper that removes secrets from every line.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Warnings and errors to stderr; for what must never be silent when the caller gave no logger. */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message) => process.stderr.write(`wechat-ilink: ${message}\n`),
  error: (message) => process.stderr.write(`wechat-ilink: ${message}\n`),
};

export const REDACTED = '[redacted]';

/** Replaces each secret (of 6+ characters, so that short values cannot mangle text) with a marker. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 6) continue;
    out = out.split(secret).join(REDACTED);
  }
  return out;
}

export function redactingLogger(logger: Logger, secrets: () => ReadonlyArray<string | undefined>): Logger {
  const wrap = (fn: (m: string) => void) => (message: string) => fn(redactSecrets(message, secrets()));
  return {
    debug: wrap((m) => logger.debug(m)),
    info: wrap((m) => logger.info(m)),
    warn: wrap((m) => logger.warn(m)),
    error: wrap((m) => logger.error(m)),
  };
}
