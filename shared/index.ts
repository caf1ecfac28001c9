/**
 * The iLink core: the public API, grouped. Hosts and scripts import from here.
 */

// Client facade and login (the seed's NewClient / StartLogin shape)
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
  type LoginOptions,
  type LoginResult,
  type LoginCredentials,
  type QrCode,
} from './login';
export { renderQrPng, renderQrDataUrl, renderQrTerminal } from './qr';
export * from './login-tracker';
export * from './login-steps';
export * from './credential-check';

// Receiving
export { Poller, DEFAULT_POLLER_TIMINGS, DEFAULT_CONCURRENCY, DEFAULT_MAX_PENDING, type HandlerContext, type MessageHandler, type PollerOptions, type PollerStatus, type PollerTimings, type PollerErrorInfo } from './poller';
export { pollerTimingsFromEnv, POLLER_TIMINGS_ENV } from './poller-timings';
export { claimPoller, isPollerClaimed, lockDirectory, LOCK_DIR_ENV, PollerConflictError } from './poll-registry';
export { UserLanes } from './user-lanes';
export * from './quote-cache';
export * from './store';

// Sending, typing, text
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
export * from './reply-window';
export { DEFAULT_CONTINUATION_HINT, MAX_CONTINUATION_HINT_CHARS } from './long-answer';
export { WindowClosingWatch, type WindowClosingOptions } from './window-watch';
export { TypingIndicator, TypingSessions, TypingTicketCache, TYPING_KEEPALIVE_MS, type TypingKeepalive, type TypingOptions, type TypingSessionOptions } from './typing';
export * from './outbound-parts';
export * from './text';

// Filtering inbound messages
export * from './filter';

// Messages
export * from './model';
export * from './messages';
export { chatInputOf, conversationKey, UNREADABLE_CHAT_INPUT } from './chat-input';

// Media
export * from './media';

// Errors, transport and wire-level pieces
export * from './errors';
export { Transport, encodeClientVersion, encodeWechatUin, joinUrl, isAbortError, ILINK_APP_ID, MAX_ANSWER_BYTES, BODY_TIMEOUT_MS, type TransportOptions, type CallOptions } from './transport';
export * from './wire';
export * from './json';
export * from './log';
export * from './bot-agent';
export { systemClock, ManualClock, type Clock } from './clock';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version';
