/** The ILinkClient of an ilink-config node, built from its settings and token. */
import { join } from 'node:path';
import { ILinkClient, ValidationError, botKeyFor, safeAccountId, type Logger } from '../../shared';

export interface BotSettings {
  baseUrl?: string;
  botId?: string;
  ownerUserId?: string;
  cdnBaseUrl?: string;
  routeTag?: string;
  botAgent?: string;
}

export class NotLoggedInError extends ValidationError {
  constructor() {
    super('not logged in: open the WeChat iLink config node, click "Log in with WeChat", scan the QR code, then deploy');
  }
}

/**
 * The client, or undefined without a token. Message state (cursor, inbox,
 * context tokens, reply windows, outbox, dedupe window) goes to a file in
 * `stateDir`, so a restart neither loses nor repeats messages; without a
 * folder it is kept in memory.
 */
export function buildBotClient(settings: BotSettings, token: string | undefined, stateDir: string | undefined, logger: Logger): ILinkClient | undefined {
  if (!token?.trim()) return undefined;
  return new ILinkClient({
    token,
    baseUrl: settings.baseUrl?.trim() || undefined,
    botId: settings.botId?.trim() || undefined,
    ownerUserId: settings.ownerUserId?.trim() || undefined,
    cdnBaseUrl: settings.cdnBaseUrl?.trim() || undefined,
    routeTag: settings.routeTag?.trim() || undefined,
    botAgent: settings.botAgent?.trim() || undefined,
    // Same key as the client's poller claim: the bot ID, else a hash of the token (never the token).
    state: stateDir ? join(stateDir, `${safeAccountId(botKeyFor(settings.botId, token))}.json`) : undefined,
    logger,
  });
}
