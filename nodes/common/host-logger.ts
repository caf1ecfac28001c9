/**
 * The core logs through a four-method logger; n8n hands nodes its own. The
 * core client already removes the token from every line.
 */
import type { Logger as N8nLogger } from 'n8n-workflow';
import type { Logger } from '../../shared';

export function coreLoggerFor(logger: N8nLogger, context: Record<string, unknown> = {}): Logger {
  const prefix = 'WeChat iLink: ';
  return {
    debug: (m) => logger.debug(prefix + m, context),
    info: (m) => logger.info(prefix + m, context),
    warn: (m) => logger.warn(prefix + m, context),
    error: (m) => logger.error(prefix + m, context),
  };
}
