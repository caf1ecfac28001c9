/**
 * One ReceiverHub per bot for this n8n process (keyed by the core's bot key):
 * every WeChat iLink Trigger on the bot, in active workflows and in "Listen for
 * test event", registers with it, so the bot has one poller however many
 * workflows listen to it, each trigger with its own filter.
 */
import { ReceiverHub, type ILinkClient, type Logger, type MessageReceiver } from '../../shared';

export interface BotHubMember {
  /** The trigger's client: the hub polls with the latest member's (its credential is the newest). */
  client: ILinkClient;
  /** Names the trigger to a poller of another process that is refused, e.g. 'n8n workflow 12 "Orders"'. */
  owner: string;
}

class BotHub {
  readonly members = new Map<MessageReceiver, BotHubMember>();
  readonly hub = new ReceiverHub({
    client: () => this.latest()?.client,
    owner: () => [...new Set([...this.members.values()].map((member) => member.owner))].join(', '),
    logger: loggerOf(() => this.latest()?.client.logger),
    onNoClient: () => new Error('no WeChat iLink Trigger is receiving for this bot'),
  });

  private latest(): BotHubMember | undefined {
    let last: BotHubMember | undefined;
    for (const member of this.members.values()) last = member;
    return last;
  }
}

/** Logs through the latest member's client (n8n's logger with that trigger's workflow). */
function loggerOf(current: () => Logger | undefined): Logger {
  return {
    debug: (m) => current()?.debug(m),
    info: (m) => current()?.info(m),
    warn: (m) => current()?.warn(m),
    error: (m) => current()?.error(m),
  };
}

// On globalThis so that two copies of this package loaded by n8n still share one poller per bot.
const REGISTRY = Symbol.for('n8n-nodes-wechat-ilink.n8n-bot-hubs');
const hubs: Map<string, BotHub> = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, BotHub> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, BotHub>());

/** Registers the receiver with its bot's hub; the returned function deregisters it (the poller stops with the last one). */
export function receiveFromBot(botKey: string, receiver: MessageReceiver, member: BotHubMember): () => Promise<void> {
  let botHub = hubs.get(botKey);
  if (!botHub) {
    botHub = new BotHub();
    hubs.set(botKey, botHub);
  }
  const joined = botHub;
  joined.members.set(receiver, member);
  joined.hub.register(receiver);
  return async () => {
    joined.members.delete(receiver);
    await joined.hub.deregister(receiver);
  };
}
