/**
 * Identifiers the simulator hands out. Tokens, cursors and tickets are random
 * and opaque on purpose, so a client that tries to parse them breaks here
 * rather than in production.
 */
import { randomBytes } from 'node:crypto';

/** First uint64 above 2^53 (§2 "uint64 IDs"): a client that lets IDs pass through a JS number loses the last digit. */
export const FIRST_MESSAGE_ID = 9007199254740993n;

export class MessageIdCounter {
  private next = FIRST_MESSAGE_ID;

  take(): string {
    const id = this.next;
    this.next += 1n;
    return id.toString();
  }

  reset(): void {
    this.next = FIRST_MESSAGE_ID;
  }
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomBase64(bytes: number): string {
  return randomBytes(bytes).toString('base64');
}

/** A bot_token: long and random. The real format is undocumented. */
export function newBotToken(): string {
  return `${randomHex(8)}@im.bot:${randomBytes(36).toString('base64url')}`;
}

/** ilink_bot_id is shaped `<hex>@im.bot` (§0). */
export function newBotId(): string {
  return `${randomHex(8)}@im.bot`;
}

export function newQrcode(): string {
  return randomHex(16);
}

/** get_updates_buf: base64 of random bytes, mapped to a queue position server-side (§5: never parse it). */
export function newCursor(): string {
  return randomBase64(33);
}

export function newContextToken(): string {
  return randomBase64(48);
}

export function newTypingTicket(): string {
  return randomBase64(24);
}

/** A 2-digit code shown on the phone for need_verifycode (§3). */
export function newVerifyCode(): string {
  return String(10 + Math.floor(Math.random() * 90));
}

export function newSessionId(): string {
  return randomHex(12);
}
