/**
 * iLink wire types and enums, exactly as the protocol sheet (§2, §4) names them.
 * This is the only file that uses snake_case names; everything else works with
 * the friendly model in messages.ts. Every field is optional on the wire.
 * uint64 IDs (message_id, msg_id, svr_id) are strings here: see json.ts.
 */

export const MessageType = { NONE: 0, USER: 1, BOT: 2 } as const;
export const MessageState = { NEW: 0, GENERATING: 1, FINISH: 2 } as const;
export const MessageItemType = {
  NONE: 0,
  TEXT: 1,
  IMAGE: 2,
  VOICE: 3,
  FILE: 4,
  VIDEO: 5,
  TOOL_CALL_START: 11,
  TOOL_CALL_RESULT: 12,
} as const;
export const TypingStatus = { TYPING: 1, CANCEL: 2 } as const;
export const UploadMediaType = { IMAGE: 1, VIDEO: 2, FILE: 3, VOICE: 4 } as const;
export const VoiceEncodeType = {
  PCM: 1,
  ADPCM: 2,
  FEATURE: 3,
  SPEEX: 4,
  AMR: 5,
  SILK: 6,
  MP3: 7,
  OGG_SPEEX: 8,
} as const;

/** QR login statuses the server sends (§3). There is no pending/scanned/cancelled. */
export type QrStatus =
  | 'wait'
  | 'scaned'
  | 'scaned_but_redirect'
  | 'need_verifycode'
  | 'verify_code_blocked'
  | 'expired'
  | 'binded_redirect'
  | 'confirmed';

export const BOT_TYPE = '3';
export const DEFAULT_API_BASE = 'https://ilinkai.weixin.qq.com';
export const DEFAULT_CDN_BASE = 'https://novac2c.cdn.weixin.qq.com/c2c';

export interface BaseInfo {
  channel_version?: string;
  bot_agent?: string;
}

/** Fields every JSON reply may carry; either may be missing (§2 error model). */
export interface ApiStatus {
  ret?: number;
  errcode?: number;
  errmsg?: string;
}

export interface CDNMedia {
  encrypt_query_param?: string;
  aes_key?: string;
  encrypt_type?: number;
  full_url?: string;
}

export interface TextItem {
  text?: string;
}

export interface ImageItem {
  media?: CDNMedia;
  thumb_media?: CDNMedia;
  /** Raw key as 32 hex characters. */
  aeskey?: string;
  url?: string;
  mid_size?: number;
  thumb_size?: number;
  thumb_height?: number;
  thumb_width?: number;
  hd_size?: number;
}

export interface VoiceItem {
  media?: CDNMedia;
  encode_type?: number;
  bits_per_sample?: number;
  sample_rate?: number;
  /** Duration in ms. */
  playtime?: number;
  /** Speech-to-text transcript. */
  text?: string;
}

export interface FileItem {
  media?: CDNMedia;
  file_name?: string;
  md5?: string;
  /** Plaintext size as a decimal string. */
  len?: string;
}

export interface VideoItem {
  media?: CDNMedia;
  video_size?: number;
  play_length?: number;
  video_md5?: string;
  thumb_media?: CDNMedia;
  thumb_size?: number;
  thumb_height?: number;
  thumb_width?: number;
}

export interface ToolCallStartItem {
  tool_name?: string;
  tool_call_id?: string;
}

export interface ToolCallResultItem {
  tool_name?: string;
  tool_call_id?: string;
  status?: string;
}

export interface PartialText {
  start?: number;
  end?: number;
  startindex?: number;
  endindex?: number;
  quotemd5?: string;
}

export interface RefMessage {
  message_item?: MessageItem;
  title?: string;
  /** Newer clients may quote by ID only (§4). uint64 as a string. */
  svr_id?: string;
  partial_text?: PartialText;
}

export interface MessageItem {
  type?: number;
  create_time_ms?: number;
  update_time_ms?: number;
  is_completed?: boolean;
  msg_id?: string;
  ref_msg?: RefMessage;
  text_item?: TextItem;
  image_item?: ImageItem;
  voice_item?: VoiceItem;
  file_item?: FileItem;
  video_item?: VideoItem;
  tool_call_start_item?: ToolCallStartItem;
  tool_call_result_item?: ToolCallResultItem;
}

export interface WeixinMessage {
  seq?: number;
  /** uint64 as a string. */
  message_id?: string;
  from_user_id?: string;
  to_user_id?: string;
  client_id?: string;
  create_time_ms?: number;
  update_time_ms?: number;
  delete_time_ms?: number;
  session_id?: string;
  group_id?: string;
  message_type?: number;
  message_state?: number;
  item_list?: MessageItem[];
  context_token?: string;
  run_id?: string;
}

// ---- Requests and responses, per endpoint (§2) ----

export interface GetBotQrcodeRequest {
  local_token_list: string[];
}
export interface GetBotQrcodeResponse extends ApiStatus {
  qrcode?: string;
  qrcode_img_content?: string;
}

export interface GetQrcodeStatusResponse extends ApiStatus {
  status?: QrStatus;
  bot_token?: string;
  ilink_bot_id?: string;
  baseurl?: string;
  ilink_user_id?: string;
  redirect_host?: string;
}

export interface GetUpdatesRequest {
  get_updates_buf: string;
  base_info: BaseInfo;
}
export interface GetUpdatesResponse extends ApiStatus {
  msgs?: WeixinMessage[];
  get_updates_buf?: string;
  longpolling_timeout_ms?: number;
}

export interface SendMessageRequest {
  msg: WeixinMessage;
  base_info: BaseInfo;
}
export interface SendMessageResponse extends ApiStatus {
  /** uint64 as a string. */
  message_id?: string;
}

export interface GetConfigRequest {
  ilink_user_id: string;
  context_token?: string;
  base_info: BaseInfo;
}
export interface GetConfigResponse extends ApiStatus {
  typing_ticket?: string;
}

export interface SendTypingRequest {
  ilink_user_id: string;
  typing_ticket: string;
  status: number;
  base_info: BaseInfo;
}
export type SendTypingResponse = ApiStatus;

export interface GetUploadUrlRequest {
  filekey: string;
  media_type: number;
  to_user_id: string;
  rawsize: number;
  rawfilemd5: string;
  filesize: number;
  thumb_rawsize?: number;
  thumb_rawfilemd5?: string;
  thumb_filesize?: number;
  no_need_thumb: boolean;
  /** Lowercase hex of the 16-byte key (§7, not base64). */
  aeskey: string;
  base_info: BaseInfo;
}
export interface GetUploadUrlResponse extends ApiStatus {
  upload_param?: string;
  thumb_upload_param?: string;
  upload_full_url?: string;
}

export interface NotifyRequest {
  base_info: BaseInfo;
}
export type NotifyResponse = ApiStatus;

/** Go SDK only, unverified (§2). uint64 as a string on our side; sent as a JSON number. */
export interface RecallMessageRequest {
  msg_id: string;
  base_info: BaseInfo;
}
export type RecallMessageResponse = ApiStatus;

/** Endpoint paths relative to the API base (§2). */
export const Endpoint = {
  getBotQrcode: 'ilink/bot/get_bot_qrcode',
  getQrcodeStatus: 'ilink/bot/get_qrcode_status',
  getUpdates: 'ilink/bot/getupdates',
  sendMessage: 'ilink/bot/sendmessage',
  getUploadUrl: 'ilink/bot/getuploadurl',
  getConfig: 'ilink/bot/getconfig',
  sendTyping: 'ilink/bot/sendtyping',
  notifyStart: 'ilink/bot/msg/notifystart',
  notifyStop: 'ilink/bot/msg/notifystop',
  recallMessage: 'ilink/bot/recallmessage',
} as const;
export type EndpointName = keyof typeof Endpoint;

/** Official client timeouts in ms (§2). 0 = no client timeout. */
export const EndpointTimeoutMs: Record<EndpointName, number> = {
  getBotQrcode: 0,
  getQrcodeStatus: 35_000,
  getUpdates: 35_000,
  sendMessage: 15_000,
  getUploadUrl: 15_000,
  getConfig: 10_000,
  sendTyping: 10_000,
  notifyStart: 10_000,
  notifyStop: 10_000,
  recallMessage: 15_000,
};
