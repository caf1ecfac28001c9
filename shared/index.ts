/**
 * The iLink core's public API (the package's `main`), named and grouped.
 * The n8n and Node-RED layers import from here only; what is not listed
 * (store internals, the media crypto, test clocks, log redaction, the wire's
 * JSON helpers) is internal and may change without notice.
 */

// ---------------------------------------------------------------------------
// Client and login (the seed's NewClient / StartLogin shape)
// ---------------------------------------------------------------------------
export { ILinkClient, botKeyFor, type ClientOptions, type ListenOptions, type MediaSendOptions } from './client';
export {
  LoginSession,
  fetchQrCode,
  pollQrStatus,
  redirectBase,
  credentialsFromConfirmed,
  LOGIN_DEADLINE_MS,
  MAX_QR_CODES,
  QR_POLL_GAP_MS,
  type LoginEvents,
  type LoginOptions,
  type LoginResult,
  type LoginCredentials,
  type QrCode,
} from './login';
export { renderQrPng, renderQrDataUrl, renderQrTerminal, qrTerminalStyleFor, QR_TERMINAL_STYLES, type QrTerminalStyle } from './qr';
// A login driven by a UI that polls (Node-RED's editor dialog).
export {
  LoginTracker,
  isPendingLogin,
  LOGIN_TRACKER_TTL_MS,
  type LoginSnapshot,
  type LoginStarter,
  type LoginTrackerOptions,
  type OnLoginConfirmed,
  type StartLoginOptions,
  type TrackedLoginState,
} from './login-tracker';
// A login in steps with no process kept between them (n8n's Login operation).
export {
  advanceLogin,
  parseLoginTicket,
  serializeLoginTicket,
  LOGIN_STEP_POLL_MS,
  type LoginAction,
  type LoginStepOptions,
  type LoginStepResult,
  type LoginStepState,
  type LoginTicket,
  type LoginTicketStatus,
} from './login-steps';
export { checkCredentials, type CredentialCheckInput, type CredentialCheckResult } from './credential-check';
export { FALLBACK_BOT_AGENT, sanitizeBotAgent } from './bot-agent';

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------
export {
  Poller,
  DEFAULT_POLLER_TIMINGS,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_PENDING,
  type HandlerContext,
  type MessageHandler,
  type PollerOptions,
  type PollerStatus,
  type PollerTimings,
  type PollerErrorInfo,
} from './poller';
export { pollerTimingsFromEnv, POLLER_TIMINGS_ENV } from './poller-timings';
export { claimPoller, lockDirectory, LOCK_DIR_ENV, PollerConflictError } from './poll-registry';
export { ReceiverHub, type MessageReceiver, type ReceiverHubOptions } from './receivers';
export { createMessageFilter, FILTERABLE_KINDS, MAX_TEXT_MATCH_CHARS, type FilterableKind, type MessageFilterOptions } from './filter';

// The bot's state: cursor, inbox, context tokens, reply windows, budgets, outbox.
export {
  BotState,
  MemoryStateStore,
  FileStateStore,
  ObjectStateStore,
  emptySnapshot,
  normalizeSnapshot,
  safeAccountId,
  DEFAULT_DEDUPE_WINDOW,
  MAX_CONTEXT_TOKENS,
  MAX_RECENT_MESSAGES,
  type BotStateSnapshot,
  type InboxEntry,
  type OutboxEntry,
  type RecentMessage,
  type ReceiverClaim,
  type RemoteChanges,
  type StateChange,
  type StateStore,
} from './store';
// The same state in Redis, shared by several processes (n8n queue mode).
export { RedisStateStore, type RedisCommands, type RedisStateStoreOptions } from './redis-store';

// ---------------------------------------------------------------------------
// Sending: the server's rules, long answers, typing, text
// ---------------------------------------------------------------------------
export {
  MessageSender,
  makeClientId,
  toOutboundItems,
  PartialSendError,
  DEFAULT_CLIENT_ID_PREFIX,
  DEFAULT_RATE_LIMIT_RETRY,
  type OutboundContent,
  type SendOptions,
  type SendResult,
  type RateLimitRetry,
  type SenderOptions,
} from './send';
export {
  replyWindowOf,
  assertCanSend,
  inboundTimeOf,
  ReplyWindowError,
  DEFAULT_REPLY_WINDOW_RULES,
  type ReplyWindow,
  type ReplyWindowRules,
  type TokenBudget,
  type UserWindowRecord,
} from './reply-window';
export { WindowClosingWatch, type WindowClosingOptions } from './window-watch';
export { DEFAULT_CONTINUATION_HINT, MAX_CONTINUATION_HINT_CHARS } from './long-answer';
export {
  readOutbound,
  composeOutbound,
  sendOutbound,
  toOutboundPart,
  isUploadedMedia,
  asBuffer,
  type OutboundFieldNames,
  type OutboundPart,
  type OutboundRequest,
} from './outbound-parts';
export {
  TypingIndicator,
  TypingSessions,
  TypingTicketCache,
  endTypingFor,
  TYPING_KEEPALIVE_MS,
  type TypingKeepalive,
  type TypingOptions,
  type TypingSessionOptions,
} from './typing';
export { filterMarkdown, filterOutboundText, prepareOutboundText, splitText, splitFirst, TEXT_CHUNK_LIMIT, type PrepareTextOptions } from './text';

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------
export type { CdnMedia, FileInfo, ImageInfo, Item, ItemKind, Message, MessageKind, Quote, ToolCallInfo, VideoInfo, VoiceInfo } from './model';
export { toMessage, toItem, toWireItem, textItem, itemText, messageText } from './messages';
export { chatInputOf, conversationKey, UNREADABLE_CHAT_INPUT } from './chat-input';

// ---------------------------------------------------------------------------
// Media
// ---------------------------------------------------------------------------
export {
  MediaError,
  formatBytes,
  pickMediaItem,
  buildMediaItem,
  mimeFromFileName,
  mediaTypeForFile,
  safeFileName,
  pcmToWav,
  silkToWav,
  DEFAULT_MEDIA_MAX_BYTES,
  SAFE_FILE_NAME_BYTES,
  VOICE_SAMPLE_RATE,
  type DownloadedMedia,
  type DownloadOptions,
  type MediaErrorKind,
  type MediaKind,
  type OutboundMediaType,
  type UploadedMedia,
  type UploadOptions,
  type UploadSource,
} from './media';

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------
export {
  ILinkError,
  ApiError,
  ContextTokenError,
  HttpError,
  LoginError,
  NoContextTokenError,
  RateLimitedError,
  SessionExpiredError,
  ValidationError,
  type LoginErrorKind,
} from './errors';

// ---------------------------------------------------------------------------
// Transport and the wire (§2–§9)
// ---------------------------------------------------------------------------
export { Transport, joinUrl, isAbortError, MAX_ANSWER_BYTES, BODY_TIMEOUT_MS, type TransportOptions, type CallOptions } from './transport';
export {
  MessageType,
  MessageState,
  MessageItemType,
  TypingStatus,
  UploadMediaType,
  VoiceEncodeType,
  type QrStatus,
  Endpoint,
  EndpointTimeoutMs,
  DEFAULT_API_BASE,
  DEFAULT_CDN_BASE,
  BOT_TYPE,
  type EndpointName,
  type BaseInfo,
  type CDNMedia,
  type MessageItem,
  type WeixinMessage,
  type TextItem,
  type ImageItem,
  type VoiceItem,
  type FileItem,
  type VideoItem,
  type RefMessage,
  type SendMessageResponse,
  type GetUpdatesResponse,
} from './wire';

// ---------------------------------------------------------------------------
// Logging, time, version
// ---------------------------------------------------------------------------
export { silentLogger, stderrLogger, redactingLogger, type Logger } from './log';
export { systemClock, type Clock } from './clock';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version';
