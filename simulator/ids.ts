/**
 * Identifiers the simulator hands out. Tokens, cursors and tickets are random
 * and opaque on purpose, so a client that tries to parse them breaks here
 * rather than in production.
 */
import { randomBytes } from 'node:crypto';

/** First uint64 above 2^53 (§2 "uint64 IDs"): a client that lets IDs pass through a JS number loses the last digit. */
export const FIRST_MESSAGE_ID = 9007199254740993n;
/** Item msg_ids (strings on the wire, §4) count in their own range so they never look like a message_id. */
export const FIRST_ITEM_ID = 7340000000000000001n;

/**
 * Counts up by 2 from an odd start: between 2^53 and 2^54 only even integers
 * are exact doubles, so every ID handed out is one a JS number would corrupt.
 */
export class MessageIdCounter {
  private next: bigint;

  constructor(private readonly first = FIRST_MESSAGE_ID) {
    this.next = first;
  }

  take(): string {
    const id = this.next;
    this.next += 2n;
    return id.toString();
  }

  reset(): void {
    this.next = this.first;
  }
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomBase64(bytes: number): string {
  return randomBytes(bytes).toString('base64');
}

/** A bot_token: long, random and opaque (the real format is undocumented). */
export function newBotToken(): string {
  return randomBytes(36).toString('base64url');
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
