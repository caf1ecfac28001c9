/**
 * Long answers within the budget (§10: at most 10 messages per user message).
 *
 * An answer is kept as "parts": wire items whose texts are filtered but not
 * yet cut into 4000-character messages. Cut in full they are what `send`
 * sends; fitted to a budget of N messages they become what goes out now (N
 * messages at most, the last one ending with a hint that more follows) and
 * the rest, still as parts, so that the next budget cuts it afresh instead of
 * spending a message on a leftover scrap.
 */
import { ValidationError } from './errors';
import { textItem } from './messages';
import { splitFirst, splitText, TEXT_CHUNK_LIMIT } from './text';
import { MessageItemType, type MessageItem } from './wire';

/** The default hint at the end of the last message that fits; users of a personal WeChat bot read Chinese first. */
export const DEFAULT_CONTINUATION_HINT = '（回复任意消息查看剩余内容）';
/** A hint longer than this would crowd out the answer it belongs to. */
export const MAX_CONTINUATION_HINT_CHARS = 200;

export interface FittedAnswer {
  /** What to send now, one sendmessage each: at most the budget. */
  now: MessageItem[];
  /** What waits for the user's next message, as parts (empty when everything fits). */
  rest: MessageItem[];
}

function isText(part: MessageItem): boolean {
  return part.type === MessageItemType.TEXT;
}

/** Every part cut to messages of at most `limit` code points: what a send of these parts costs. */
export function expandParts(parts: readonly MessageItem[], limit = TEXT_CHUNK_LIMIT): MessageItem[] {
  return parts.flatMap((part) => (isText(part) ? splitText(part.text_item?.text ?? '', limit).map(textItem) : [part]));
}

/** The hint as it will be sent: trimmed, non-empty, short. */
export function checkedContinuationHint(hint: string | undefined): string {
  const value = (hint ?? DEFAULT_CONTINUATION_HINT).trim();
  if (value === '') throw new ValidationError('the continuation hint is empty: give a short text such as "（回复任意消息查看剩余内容）"');
  if ([...value].length > MAX_CONTINUATION_HINT_CHARS) {
    throw new ValidationError(`the continuation hint is longer than ${MAX_CONTINUATION_HINT_CHARS} characters: keep it to one short sentence`);
  }
  return value;
}

/**
 * Splits parts into what fits `budget` messages and the rest. When not all
 * fits, the last message sent now ends with `hint` (a text cut shorter to
 * make room, at a sentence end when one is near, as every cut is), or is the
 * hint alone when the part there is media. With a budget of 0 everything waits.
 */
export function fitToBudget(parts: readonly MessageItem[], budget: number, hint: string, limit = TEXT_CHUNK_LIMIT): FittedAnswer {
  const now: MessageItem[] = [];
  const suffix = `\n${hint}`;
  const room = limit - [...suffix].length;
  for (let i = 0; i < parts.length; i++) {
    const left = budget - now.length;
    if (expandParts(parts.slice(i), limit).length <= left) return { now: [...now, ...expandParts(parts.slice(i), limit)], rest: [] };
    if (left <= 0) return { now, rest: parts.slice(i) };
    const part = parts[i];
    if (!isText(part)) {
      if (left > 1) {
        now.push(part);
        continue;
      }
      now.push(textItem(hint));
      return { now, rest: parts.slice(i) };
    }
    // A text: whole messages while more than one is left, then the one that carries the hint.
    let text = part.text_item?.text ?? '';
    while (budget - now.length > 1) {
      const { first, rest } = splitFirst(text, limit);
      now.push(textItem(first));
      text = rest;
      if (!text) break;
    }
    if (!text) continue;
    const remaining = expandParts([textItem(text), ...parts.slice(i + 1)], limit);
    if (remaining.length <= budget - now.length) return { now: [...now, ...remaining], rest: [] };
    const { first, rest } = splitFirst(text, room);
    now.push(textItem(first + suffix));
    return { now, rest: rest ? [textItem(rest), ...parts.slice(i + 1)] : parts.slice(i + 1) };
  }
  return { now, rest: [] };
}
