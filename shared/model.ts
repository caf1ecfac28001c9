/**
 * The friendly message model: camelCase, JSON-serializable plain objects (they
 * travel through n8n items and Node-RED msgs), shaped like the seed's
 * Message/Item. uint64 IDs are strings. Conversion to and from the wire lives
 * in messages.ts.
 */

export type ItemKind = 'text' | 'image' | 'voice' | 'file' | 'video' | 'toolCallStart' | 'toolCallResult' | 'unknown';

/** A reference to an AES-128-ECB encrypted object on the CDN (§4 CDNMedia). */
export interface CdnMedia {
  encryptQueryParam?: string;
  /** base64: of the 16 raw key bytes, or of the 32-char hex string (§7). */
  aesKey?: string;
  encryptType?: number;
  fullUrl?: string;
}

export interface ImageInfo {
  media?: CdnMedia;
  thumbMedia?: CdnMedia;
  /** Raw key as 32 hex characters; preferred for decryption (§7). */
  aesKeyHex?: string;
  url?: string;
  midSize?: number;
  thumbSize?: number;
  thumbHeight?: number;
  thumbWidth?: number;
  hdSize?: number;
}

export interface VoiceInfo {
  media?: CdnMedia;
  encodeType?: number;
  bitsPerSample?: number;
  sampleRate?: number;
  /** Duration in milliseconds. */
  playtimeMs?: number;
  /** Speech-to-text transcript, when the server made one. */
  transcript?: string;
}

export interface FileInfo {
  media?: CdnMedia;
  fileName?: string;
  md5?: string;
  /** Plaintext size in bytes (the wire carries it as a decimal string). */
  size?: number;
}

export interface VideoInfo {
  media?: CdnMedia;
  videoSize?: number;
  playLengthMs?: number;
  videoMd5?: string;
  thumbMedia?: CdnMedia;
  thumbSize?: number;
  thumbHeight?: number;
  thumbWidth?: number;
}

export interface ToolCallInfo {
  toolName?: string;
  toolCallId?: string;
  /** Only on toolCallResult: completed, failed, blocked or unknown. */
  status?: string;
}

/** A quoted message (§4 ref_msg). */
export interface Quote {
  title?: string;
  /** The quoted item, when the server sent it. */
  item?: Item;
  /** Text of the quoted item (its text or voice transcript). */
  text?: string;
  /** Newer clients quote by server message ID only (uint64 string). */
  messageId?: string;
  /**
   * Set on an ID-only quote (§10): true when its text and item were filled in
   * from the local cache of recent messages, false when the quoted message
   * was not there (too old, or from before this bot's state began).
   */
  restored?: boolean;
  /** Who wrote the quoted message, when restored: a user ID, or '' for the bot itself. */
  from?: string;
}

export interface Item {
  type: ItemKind;
  /** The numeric wire type, kept for unknown types. */
  wireType: number;
  msgId?: string;
  createTime?: number;
  updateTime?: number;
  isCompleted?: boolean;
  text?: string;
  image?: ImageInfo;
  voice?: VoiceInfo;
  file?: FileInfo;
  video?: VideoInfo;
  toolCall?: ToolCallInfo;
  quote?: Quote;
}

export type MessageKind = 'user' | 'bot' | 'none' | 'unknown';

export interface Message {
  seq?: number;
  /** Server message ID, uint64 as a decimal string ("" when absent). */
  messageId: string;
  /** Sender user ID (…@im.wechat). */
  from: string;
  /** Recipient (the bot, …@im.bot). */
  to: string;
  groupId?: string;
  sessionId?: string;
  clientId?: string;
  kind: MessageKind;
  /** MessageState on the wire: 0 new, 1 generating, 2 finish. */
  state?: number;
  /** Milliseconds since the epoch. */
  createTime?: number;
  updateTime?: number;
  deleteTime?: number;
  /** Echo this when replying (§6). */
  contextToken?: string;
  items: Item[];
  /** Body text per §4: the first TEXT item, else a voice transcript, else a label such as [图片]. */
  text: string;
  /** The quote of the first TEXT item, if any. */
  quote?: Quote;
}
