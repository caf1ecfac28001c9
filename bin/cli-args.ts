/**
 * The command line: flags parsed by Node's util.parseArgs in strict mode (it
 * decides what is accepted), usage errors that name the bad flag and say what to
 * type instead, and the usage text. Nothing here touches the network.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
// Small modules imported one by one, not the core's index: `--help` and usage errors
// must answer without loading the HTTP client (the index costs ~0.7 s on a busy machine).
import { FALLBACK_BOT_AGENT, sanitizeBotAgent } from '../shared/bot-agent';
import { QR_TERMINAL_STYLES, type QrTerminalStyle } from '../shared/qr';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../shared/version';
import { DEFAULT_API_BASE } from '../shared/wire';

export const PROGRAM = `npx ${PACKAGE_NAME}`;
const COMMANDS = ['login', 'help'] as const;
export type QrMode = 'auto' | QrTerminalStyle;
const QR_MODES: readonly QrMode[] = ['auto', ...QR_TERMINAL_STYLES];

// Only options that Node 20.18 knows (no allowNegative).
const OPTIONS = {
  'base-url': { type: 'string', default: DEFAULT_API_BASE },
  'route-tag': { type: 'string' },
  'bot-agent': { type: 'string' },
  qr: { type: 'string', default: 'auto' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

export const USAGE = `Usage: ${PROGRAM} login [flags]

Logs a WeChat bot in with a QR code and prints the bot token and IDs to paste
into the "WeChat iLink API" credential (n8n) or the iLink config node (Node-RED).

Commands:
  login              start a QR login
  help               show this text

Flags:
  --base-url URL     iLink API base URL (default ${DEFAULT_API_BASE})
  --route-tag TAG    SKRouteTag header, if your account needs one (default: none)
  --bot-agent AGENT  bot_agent sent to iLink, "Name/1.0" (default ${PACKAGE_NAME}/${PACKAGE_VERSION})
  --qr MODE          how to draw the QR code (default auto: color on a colour
                     terminal, else text); color, text (█ = dark, for light
                     backgrounds and logs) or text-inverse (for dark backgrounds)
  -h, --help         show this text

Ctrl-C cancels the login. Exit codes: 0 done, 1 login failed, 2 bad command
line, 130 cancelled.`;

export interface LoginFlags {
  baseUrl: string;
  routeTag?: string;
  botAgent?: string;
  qr: QrMode;
}

export type CommandLine = { command: 'help' } | { command: 'login'; flags: LoginFlags };

/** A mistake on the command line: exit code 2, the message on stderr. */
export class UsageError extends Error {}

export function parseCommandLine(argv: string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(argv, error));
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help' };
  if (command !== 'login') {
    const guess = closest(command, COMMANDS);
    throw new UsageError(`unknown command '${command}'${guess ? `; did you mean '${guess}'?` : ''}`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' after 'login' (flags start with --)`);
  return {
    command: 'login',
    flags: {
      baseUrl: checkBaseUrl(values['base-url']),
      routeTag: values['route-tag'] || undefined,
      botAgent: values['bot-agent'] === undefined ? undefined : checkBotAgent(values['bot-agent']),
      qr: checkQrMode(values.qr),
    },
  };
}

/**
 * parseArgs has refused argv; a lenient pass over the same argv finds the
 * token it refused, so the message can name the flag in our words.
 */
function describeParseError(argv: string[], error: unknown): string {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    // A known short flag comes named by its long name (-h → help).
    const option = Object.hasOwn(OPTIONS, token.name) ? OPTIONS[token.name as keyof typeof OPTIONS] : undefined;
    if (!option) {
      const guess = closest(token.name, Object.keys(OPTIONS));
      return `unknown flag '${token.rawName}'${guess ? `; did you mean '--${guess}'?` : ''}`;
    }
    if (option.type === 'boolean' && token.value !== undefined) return `flag '${token.rawName}' takes no value`;
    // Lenient mode takes "--base-url --qr" as the value "--qr"; strict mode refuses it as missing.
    if (option.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-')))) {
      return `flag '${token.rawName}' needs a value, as in ${token.rawName} ${placeholderFor(token.name)}`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

function placeholderFor(name: string): string {
  if (name === 'base-url') return DEFAULT_API_BASE;
  if (name === 'bot-agent') return '"MyBot/1.0"';
  if (name === 'qr') return 'text';
  return 'VALUE';
}

function checkBaseUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new UsageError(`--base-url '${value}' is not a valid URL: give http(s)://host[:port][/path], e.g. ${DEFAULT_API_BASE}`);
  }
  return value;
}

function checkBotAgent(value: string): string {
  const given = value.trim().split(/\s+/).join(' ');
  if (sanitizeBotAgent(value) !== given || given === FALLBACK_BOT_AGENT) {
    throw new UsageError(`--bot-agent '${value}' is not in the form Name/version, e.g. "MyBot/1.0" or "MyBot/1.0 (comment)"`);
  }
  return given;
}

function checkQrMode(value: string): QrMode {
  if ((QR_MODES as readonly string[]).includes(value)) return value as QrMode;
  const guess = closest(value, QR_MODES);
  throw new UsageError(`--qr '${value}' is not a QR mode${guess ? ` (did you mean '${guess}'?)` : ''}: use one of ${QR_MODES.join(', ')}`);
}

/** The candidate within 2 edits of `word` (a typo), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance <= 2 && distance < word.length && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance, counting a swap of two neighbours as one edit ("lgoin" → "login"). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
