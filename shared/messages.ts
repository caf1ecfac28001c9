/**
 * Conversion between the iLink wire format (wire.ts, snake_case) and the
 * friendly model (model.ts, camelCase). Inbound data comes from a server we do
 * not control, so the wire-to-model direction never throws: every field is
 * optional (§4) and a field of the wrong type is skipped, not trusted.
 */

import type {
  CDNMedia,
  FileItem,
  ImageItem,
  MessageItem,
  RefMessage,
  VideoItem,
  VoiceItem,
  WeixinMessage,
} from './wire';
import { MessageItemType, MessageType } from './wire';
import type {
  CdnMedia,
  FileInfo,
  ImageInfo,
  Item,
  ItemKind,
  Message,
  MessageKind,
  Quote,
  ToolCallInfo,
  VideoInfo,
  VoiceInfo,
} from './model';
import { ValidationError } from './errors';

// ---------------------------------------------------------------------------
// Tolerant readers: the wire is untrusted JSON, so each reader returns
// undefined for a missing or mistyped value instead of passing it on.
// ---------------------------------------------------------------------------

type Loose = Record<string, unknown>;

function asObject(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Numbers may arrive as numbers or, from lenient producers, as decimal strings. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

function asBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * uint64 IDs stay strings (§2 "uint64 IDs"). json.ts quotes them before
 * parsing; a number here means someone parsed with plain JSON.parse, and its
 * digits are the best that is left, so they are kept rather than dropped.
 */
export function asIdString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** Copies only the defined values, so converted objects carry no `undefined` keys into n8n/Node-RED JSON. */
function defined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out as T;
}

function isEmpty(value: object): boolean {
  return Object.keys(value).length === 0;
}

// ---------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------

const KIND_BY_WIRE_TYPE: Readonly<Record<number, ItemKind>> = {
  [MessageItemType.TEXT]: 'text',
  [MessageItemType.IMAGE]: 'image',
  [MessageItemType.VOICE]: 'voice',
  [MessageItemType.FILE]: 'file',
  [MessageItemType.VIDEO]: 'video',
  [MessageItemType.TOOL_CALL_START]: 'toolCallStart',
  [MessageItemType.TOOL_CALL_RESULT]: 'toolCallResult',
};

const WIRE_TYPE_BY_KIND: Readonly<Record<Exclude<ItemKind, 'unknown'>, number>> = {
  text: MessageItemType.TEXT,
  image: MessageItemType.IMAGE,
  voice: MessageItemType.VOICE,
  file: MessageItemType.FILE,
  video: MessageItemType.VIDEO,
  toolCallStart: MessageItemType.TOOL_CALL_START,
  toolCallResult: MessageItemType.TOOL_CALL_RESULT,
};

function messageKind(messageType: unknown): MessageKind {
  // An absent message_type is the protobuf default 0 (NONE), as every field is optional (§4).
  if (messageType === undefined || messageType === null) return 'none';
  switch (asNumber(messageType)) {
    case MessageType.USER:
      return 'user';
    case MessageType.BOT:
      return 'bot';
    case MessageType.NONE:
      return 'none';
    default:
      return 'unknown';
  }
}

// ---------------------------------------------------------------------------
// Wire -> model
// ---------------------------------------------------------------------------

function cdnMediaFromWire(value: unknown): CdnMedia | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  const media = defined<CdnMedia>({
    encryptQueryParam: asString(wire.encrypt_query_param),
    aesKey: asString(wire.aes_key),
    encryptType: asNumber(wire.encrypt_type),
    fullUrl: asString(wire.full_url),
  });
  return media;
}

function imageFromWire(value: unknown): ImageInfo | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  return defined<ImageInfo>({
    media: cdnMediaFromWire(wire.media),
    thumbMedia: cdnMediaFromWire(wire.thumb_media),
    aesKeyHex: asString(wire.aeskey),
    url: asString(wire.url),
    midSize: asNumber(wire.mid_size),
    thumbSize: asNumber(wire.thumb_size),
    thumbHeight: asNumber(wire.thumb_height),
    thumbWidth: asNumber(wire.thumb_width),
    hdSize: asNumber(wire.hd_size),
  });
}

function voiceFromWire(value: unknown): VoiceInfo | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  return defined<VoiceInfo>({
    media: cdnMediaFromWire(wire.media),
    encodeType: asNumber(wire.encode_type),
    bitsPerSample: asNumber(wire.bits_per_sample),
    sampleRate: asNumber(wire.sample_rate),
    playtimeMs: asNumber(wire.playtime),
    transcript: asString(wire.text),
  });
}

function fileFromWire(value: unknown): FileInfo | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  // `len` is a decimal string on the wire (§4); a non-numeric value is dropped rather than becoming NaN.
  const size = asNumber(wire.len);
  return defined<FileInfo>({
    media: cdnMediaFromWire(wire.media),
    fileName: asString(wire.file_name),
    md5: asString(wire.md5),
    size: size !== undefined && Number.isInteger(size) && size >= 0 ? size : undefined,
  });
}

function videoFromWire(value: unknown): VideoInfo | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  return defined<VideoInfo>({
    media: cdnMediaFromWire(wire.media),
    videoSize: asNumber(wire.video_size),
    playLengthMs: asNumber(wire.play_length),
    videoMd5: asString(wire.video_md5),
    thumbMedia: cdnMediaFromWire(wire.thumb_media),
    thumbSize: asNumber(wire.thumb_size),
    thumbHeight: asNumber(wire.thumb_height),
    thumbWidth: asNumber(wire.thumb_width),
  });
}

function toolCallFromWire(value: unknown): ToolCallInfo | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  return defined<ToolCallInfo>({
    toolName: asString(wire.tool_name),
    toolCallId: asString(wire.tool_call_id),
    status: asString(wire.status),
  });
}

/**
 * Quotes nest (a quoted item can itself carry ref_msg). Parsed JSON is finite,
 * but a hand-built object may be cyclic, so nesting is cut off here.
 */
const MAX_QUOTE_DEPTH = 8;

function quoteFromWire(value: unknown, depth: number): Quote | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  const item = depth < MAX_QUOTE_DEPTH ? itemFromWire(wire.message_item, depth + 1) : undefined;
  const quote = defined<Quote>({
    title: asString(wire.title),
    item,
    text: item ? itemText(item) : undefined,
    // An ID-only quote from newer clients (§4): svr_id is the quoted message's server ID.
    messageId: asIdString(wire.svr_id),
  });
  return isEmpty(quote) ? undefined : quote;
}

/** The text an item contributes: its text, or a voice item's transcript. */
export function itemText(item: Item): string | undefined {
  if (typeof item.text === 'string' && item.text !== '') return item.text;
  const transcript = item.voice?.transcript;
  return typeof transcript === 'string' && transcript !== '' ? transcript : undefined;
}

function itemFromWire(value: unknown, depth: number): Item | undefined {
  const wire = asObject(value);
  if (!wire) return undefined;
  const wireType = asNumber(wire.type);
  const numericType = wireType !== undefined && Number.isInteger(wireType) ? wireType : MessageItemType.NONE;
  const type: ItemKind = KIND_BY_WIRE_TYPE[numericType] ?? 'unknown';
  // Each payload is read whenever present, whatever the type says, so nothing the server sent is lost.
  const toolCallWire = type === 'toolCallResult' ? wire.tool_call_result_item ?? wire.tool_call_start_item : wire.tool_call_start_item ?? wire.tool_call_result_item;
  return defined<Item>({
    type,
    wireType: numericType,
    msgId: asIdString(wire.msg_id),
    createTime: asNumber(wire.create_time_ms),
    updateTime: asNumber(wire.update_time_ms),
    isCompleted: asBoolean(wire.is_completed),
    text: asString(asObject(wire.text_item)?.text),
    image: imageFromWire(wire.image_item),
    voice: voiceFromWire(wire.voice_item),
    file: fileFromWire(wire.file_item),
    video: videoFromWire(wire.video_item),
    toolCall: toolCallFromWire(toolCallWire),
    quote: quoteFromWire(wire.ref_msg, depth),
  });
}

/**
 * Converts one wire item. Never throws: a value that is not an object becomes
 * an `unknown` item with wire type 0.
 */
export function toItem(wire: MessageItem): Item {
  return itemFromWire(wire, 0) ?? { type: 'unknown', wireType: MessageItemType.NONE };
}

/**
 * Converts an inbound (or echoed) wire message to the friendly model. Never
 * throws: missing, null or mistyped fields are skipped, and item_list entries
 * that are not objects are dropped.
 */
export function toMessage(wire: WeixinMessage): Message {
  const raw = asObject(wire) ?? {};
  const items: Item[] = [];
  if (Array.isArray(raw.item_list)) {
    for (const entry of raw.item_list) {
      const item = itemFromWire(entry, 0);
      if (item) items.push(item);
    }
  }
  const bodyItem = items.find((item) => item.type === 'text');
  return defined<Message>({
    seq: asNumber(raw.seq),
    messageId: asIdString(raw.message_id) ?? '',
    from: asString(raw.from_user_id) ?? '',
    to: asString(raw.to_user_id) ?? '',
    groupId: asString(raw.group_id),
    sessionId: asString(raw.session_id),
    clientId: asString(raw.client_id),
    kind: messageKind(raw.message_type),
    state: asNumber(raw.message_state),
    createTime: asNumber(raw.create_time_ms),
    updateTime: asNumber(raw.update_time_ms),
    deleteTime: asNumber(raw.delete_time_ms),
    contextToken: asString(raw.context_token),
    items,
    text: textOfItems(items),
    quote: bodyItem?.quote,
  });
}

// ---------------------------------------------------------------------------
// Body text (§4 "How the official client reads inbound content")
// ---------------------------------------------------------------------------

const MEDIA_LABELS: Readonly<Partial<Record<ItemKind, string>>> = {
  image: '[图片]',
  voice: '[语音]',
  file: '[文件]',
  video: '[视频]',
};

function textOfItems(items: unknown): string {
  if (!Array.isArray(items)) return '';
  const list = items.filter((item): item is Item => asObject(item) !== undefined);
  // 1. The first TEXT item's text.
  const firstText = list.find((item) => item.type === 'text');
  if (firstText && typeof firstText.text === 'string' && firstText.text !== '') return firstText.text;
  // 2. The first voice item with a non-empty transcript.
  for (const item of list) {
    if (item.type !== 'voice') continue;
    const transcript = asObject(item.voice)?.transcript;
    if (typeof transcript === 'string' && transcript !== '') return transcript;
  }
  // 3. A label for the first media item. Files carry their name after the label,
  //    so flows can still test the `[文件]` prefix.
  for (const item of list) {
    const label = MEDIA_LABELS[item.type];
    if (!label) continue;
    if (item.type === 'file') {
      const fileName = asObject(item.file)?.fileName;
      if (typeof fileName === 'string' && fileName.trim() !== '') return `${label} ${fileName.trim()}`;
    }
    return label;
  }
  return '';
}

/** The body text of a message per §4, for messages built by hand (toMessage fills `text` the same way). */
export function messageText(message: Message): string {
  return textOfItems(asObject(message)?.items);
}

// ---------------------------------------------------------------------------
// Model -> wire
// ---------------------------------------------------------------------------

function cdnMediaToWire(media: CdnMedia | undefined): CDNMedia | undefined {
  const value = asObject(media);
  if (!value) return undefined;
  return defined<CDNMedia>({
    encrypt_query_param: asString(value.encryptQueryParam),
    aes_key: asString(value.aesKey),
    encrypt_type: asNumber(value.encryptType),
    full_url: asString(value.fullUrl),
  });
}

function imageToWire(image: ImageInfo | undefined): ImageItem | undefined {
  const value = asObject(image);
  if (!value) return undefined;
  return defined<ImageItem>({
    media: cdnMediaToWire(value.media as CdnMedia | undefined),
    thumb_media: cdnMediaToWire(value.thumbMedia as CdnMedia | undefined),
    aeskey: asString(value.aesKeyHex),
    url: asString(value.url),
    mid_size: asNumber(value.midSize),
    thumb_size: asNumber(value.thumbSize),
    thumb_height: asNumber(value.thumbHeight),
    thumb_width: asNumber(value.thumbWidth),
    hd_size: asNumber(value.hdSize),
  });
}

function voiceToWire(voice: VoiceInfo | undefined): VoiceItem | undefined {
  const value = asObject(voice);
  if (!value) return undefined;
  return defined<VoiceItem>({
    media: cdnMediaToWire(value.media as CdnMedia | undefined),
    encode_type: asNumber(value.encodeType),
    bits_per_sample: asNumber(value.bitsPerSample),
    sample_rate: asNumber(value.sampleRate),
    playtime: asNumber(value.playtimeMs),
    text: asString(value.transcript),
  });
}

function fileToWire(file: FileInfo | undefined): FileItem | undefined {
  const value = asObject(file);
  if (!value) return undefined;
  const size = asNumber(value.size);
  return defined<FileItem>({
    media: cdnMediaToWire(value.media as CdnMedia | undefined),
    file_name: asString(value.fileName),
    md5: asString(value.md5),
    // `len` is the plaintext size as a decimal string (§4, §7).
    len: size !== undefined && Number.isInteger(size) && size >= 0 ? String(size) : undefined,
  });
}

function videoToWire(video: VideoInfo | undefined): VideoItem | undefined {
  const value = asObject(video);
  if (!value) return undefined;
  return defined<VideoItem>({
    media: cdnMediaToWire(value.media as CdnMedia | undefined),
    video_size: asNumber(value.videoSize),
    play_length: asNumber(value.playLengthMs),
    video_md5: asString(value.videoMd5),
    thumb_media: cdnMediaToWire(value.thumbMedia as CdnMedia | undefined),
    thumb_size: asNumber(value.thumbSize),
    thumb_height: asNumber(value.thumbHeight),
    thumb_width: asNumber(value.thumbWidth),
  });
}

function quoteToWire(quote: Quote | undefined, depth: number): RefMessage | undefined {
  const value = asObject(quote);
  if (!value) return undefined;
  const ref = defined<RefMessage>({
    message_item: depth < MAX_QUOTE_DEPTH && asObject(value.item) ? itemToWire(value.item as Item, depth + 1) : undefined,
    title: asString(value.title),
    svr_id: asIdString(value.messageId),
  });
  return isEmpty(ref) ? undefined : ref;
}

function isItemKind(value: unknown): value is ItemKind {
  return typeof value === 'string' && (value === 'unknown' || Object.prototype.hasOwnProperty.call(WIRE_TYPE_BY_KIND, value));
}

function itemToWire(item: Item, depth: number): MessageItem {
  const value = asObject(item);
  if (!value) throw new ValidationError(`an item to send must be an object, got ${item === null ? 'null' : typeof item}`);
  const kind = value.type;
  if (!isItemKind(kind)) {
    throw new ValidationError(
      `unknown item type ${JSON.stringify(kind)}: use one of text, image, voice, file, video, toolCallStart, toolCallResult, unknown`,
    );
  }
  let type: number;
  if (kind === 'unknown') {
    const wireType = asNumber(value.wireType);
    if (wireType === undefined || !Number.isInteger(wireType)) {
      throw new ValidationError('an item of type "unknown" needs a numeric wireType to be sent');
    }
    type = wireType;
  } else {
    // The kind decides; a stale wireType on a hand-edited item does not override it.
    type = WIRE_TYPE_BY_KIND[kind];
  }
  const toolCall = asObject(value.toolCall);
  const toolCallWire = toolCall
    ? defined({ tool_name: asString(toolCall.toolName), tool_call_id: asString(toolCall.toolCallId) })
    : undefined;
  const text = asString(value.text);
  return defined<MessageItem>({
    type,
    create_time_ms: asNumber(value.createTime),
    update_time_ms: asNumber(value.updateTime),
    is_completed: asBoolean(value.isCompleted),
    msg_id: asIdString(value.msgId),
    ref_msg: quoteToWire(value.quote as Quote | undefined, depth),
    text_item: text !== undefined ? { text } : undefined,
    image_item: imageToWire(value.image as ImageInfo | undefined),
    voice_item: voiceToWire(value.voice as VoiceInfo | undefined),
    file_item: fileToWire(value.file as FileInfo | undefined),
    video_item: videoToWire(value.video as VideoInfo | undefined),
    tool_call_start_item: kind === 'toolCallStart' ? toolCallWire : undefined,
    tool_call_result_item:
      kind === 'toolCallResult' && toolCall ? defined({ ...toolCallWire, status: asString(toolCall.status) }) : undefined,
  });
}

/**
 * Converts a friendly item back to the wire: the inverse of toItem, for item
 * lists a user built and for media code that needs wire fields. Throws
 * ValidationError when the item is not an object or its `type` is not an
 * ItemKind (an `unknown` item needs its numeric `wireType`); mistyped fields
 * are left out. `quote.text` is derived data with no wire field, so it is not
 * sent; a quote is sent as its item, title and svr_id.
 */
export function toWireItem(item: Item): MessageItem {
  return itemToWire(item, 0);
}

/** A TEXT item for sendmessage (§6: exactly one item per request). */
export function textItem(text: string): MessageItem {
  return { type: MessageItemType.TEXT, text_item: { text } };
}
