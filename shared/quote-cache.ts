/**
 * ID-only quotes (§10): since July 2026 WeChat clients quote by the quoted
 * message's server ID, with no text. Like the official client, the quote is
 * filled in from the state's cache of recent inbound and outbound messages.
 */
import { itemText, toItem } from './messages';
import type { Message, Quote } from './model';
import type { RecentMessage } from './store';

export interface RecentMessageLookup {
  recentMessage(messageId: string): RecentMessage | undefined;
}

/** True for a quote that names a message but carries none of its content. */
export function isIdOnlyQuote(quote: Quote | undefined): quote is Quote & { messageId: string } {
  if (!quote?.messageId || quote.text) return false;
  return !quote.item || quote.item.wireType === 0;
}

/** Fills in the message's ID-only quote from the cache, in place, and says whether it could. */
export function restoreQuote(message: Message, cache: RecentMessageLookup): void {
  const quote = message.quote;
  if (!isIdOnlyQuote(quote)) return;
  const recent = cache.recentMessage(quote.messageId);
  if (!recent) {
    quote.restored = false;
    return;
  }
  const item = toItem(recent.item);
  quote.item = item;
  const text = itemText(item);
  if (text) quote.text = text;
  quote.from = recent.from;
  quote.restored = true;
}
