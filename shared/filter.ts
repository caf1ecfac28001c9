/**
 * Which inbound messages a receiving node passes on. Both hosts offer the same
 * options, so the rule lives here: item types, sender allow-list or owner
 * only, bot echoes, and a text match.
 */
import { ValidationError } from './errors';
import type { ItemKind, Message } from './model';

export type FilterableKind = Extract<ItemKind, 'text' | 'image' | 'voice' | 'file' | 'video'>;
export const FILTERABLE_KINDS: readonly FilterableKind[] = ['text', 'image', 'voice', 'file', 'video'];

export interface MessageFilterOptions {
  /** Pass messages that contain at least one item of these kinds (default: all). */
  kinds?: readonly FilterableKind[];
  /** 'everyone' (default), 'owner' (the user who logged the bot in), or 'list'. */
  senders?: 'everyone' | 'owner' | 'list';
  /** User IDs for senders: 'list'. */
  allowList?: readonly string[];
  ownerUserId?: string;
  /** Drop messages whose message_type is BOT (echoes of the bot's own sends). Default true. */
  ignoreBotEchoes?: boolean;
  /** Text match on the message's body text. */
  textMatch?: { mode: 'contains' | 'regex'; pattern: string; caseSensitive?: boolean };
}

/** Builds the filter once (so a bad regex fails at configuration time, with a clear message). */
export function createMessageFilter(options: MessageFilterOptions = {}): (message: Message) => boolean {
  const kinds = options.kinds && options.kinds.length > 0 ? new Set<string>(options.kinds) : undefined;
  const senders = options.senders ?? 'everyone';
  const allow = new Set((options.allowList ?? []).map((id) => id.trim()).filter(Boolean));
  if (senders === 'owner' && !options.ownerUserId) {
    throw new ValidationError('"owner only" needs the owner user ID: log in with the QR code, or fill in the owner user ID');
  }
  if (senders === 'list' && allow.size === 0) {
    throw new ValidationError('the sender allow-list is empty: add at least one user ID (…@im.wechat)');
  }
  const matchText = compileTextMatch(options.textMatch);
  const ignoreEchoes = options.ignoreBotEchoes !== false;

  return (message) => {
    if (ignoreEchoes && message.kind === 'bot') return false;
    if (senders === 'owner' && message.from !== options.ownerUserId) return false;
    if (senders === 'list' && !allow.has(message.from)) return false;
    if (kinds && !message.items.some((item) => kinds.has(item.type))) return false;
    if (matchText && !matchText(message.text)) return false;
    return true;
  };
}

/**
 * The text a regular expression is tested on is cut to this many characters:
 * it runs synchronously on text any WeChat user can send, so its cost must be
 * bounded (a WeChat text is at most a few thousand characters anyway).
 */
export const MAX_TEXT_MATCH_CHARS = 10_000;

/**
 * A group that repeats something repeated, like `(a+)+`, `(\w*)*` or `(a|a)+`:
 * the shapes that backtrack exponentially on a crafted message.
 */
const NESTED_REPETITION = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\}|\|)(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

function compileTextMatch(match: MessageFilterOptions['textMatch']): ((text: string) => boolean) | undefined {
  if (!match || match.pattern === '') return undefined;
  if (match.mode === 'regex') {
    let regex: RegExp;
    try {
      regex = new RegExp(match.pattern, match.caseSensitive ? 'u' : 'iu');
    } catch (error) {
      throw new ValidationError(`the text match is not a valid regular expression: ${(error as Error).message}`);
    }
    if (NESTED_REPETITION.test(match.pattern)) {
      throw new ValidationError(
        `the text pattern ${match.pattern} repeats a group that itself repeats (like (a+)+): one crafted message could stall the whole host; ` +
          'write it without the outer repetition (for example a+ instead of (a+)+)',
      );
    }
    return (text) => regex.test(text.length > MAX_TEXT_MATCH_CHARS ? text.slice(0, MAX_TEXT_MATCH_CHARS) : text);
  }
  const needle = match.caseSensitive ? match.pattern : match.pattern.toLowerCase();
  return (text) => (match.caseSensitive ? text : text.toLowerCase()).includes(needle);
}
