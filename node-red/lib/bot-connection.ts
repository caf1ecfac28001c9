/**
 * What an ilink-config node owns at runtime: its bot's client (replaced when
 * the editor's login button brings a new token), the connection state every
 * node of the bot shows, the receiving side (one long poller for the bot's
 * ilink-in nodes), and the per-user typing sessions of ilink-typing.
 */
import { TypingSessions, type ILinkClient, type LoginCredentials, type Logger, type SessionExpiredError } from '../../shared';
import { buildBotClient, NotLoggedInError, type BotSettings } from './bot-client';
import { ConnectionStatus, type StateListener } from './connection-state';
import { Receiving, type Receiver } from './receiving';

export interface BotConnectionOptions {
  settings: BotSettings;
  token?: string;
  /** Folder for the state files; without one, state is kept in memory only. */
  stateDir?: string;
  logger: Logger;
  /** Shown to a second poller that is refused, e.g. 'Node-RED config node "My bot" (id)'. */
  owner: string;
}

interface LoggedIn {
  client: ILinkClient;
  typing: TypingSessions;
}

export class BotConnection {
  readonly status: ConnectionStatus;
  private settings: BotSettings;
  private current: LoggedIn | undefined;
  private readonly receiving: Receiving;
  private closed = false;

  constructor(private readonly options: BotConnectionOptions) {
    this.settings = options.settings;
    this.current = this.logIn(options.token);
    this.status = new ConnectionStatus(this.current ? 'stopped' : 'not-logged-in');
    this.receiving = new Receiving({ client: () => this.current?.client, status: this.status, logger: options.logger, owner: options.owner });
  }

  get ownerUserId(): string | undefined {
    return this.settings.ownerUserId || undefined;
  }

  /** The client, or a NotLoggedInError that tells the user what to do. */
  get client(): ILinkClient {
    return this.loggedIn().client;
  }

  /** "typing…" per user for this bot's client. */
  get typing(): TypingSessions {
    return this.loggedIn().typing;
  }

  /** Every node of the bot shows its connection state: the listener hears it now and on each change. */
  watchState(listener: StateListener): () => void {
    return this.status.watch(listener);
  }

  register(receiver: Receiver): void {
    this.receiving.register(receiver);
  }

  deregister(receiver: Receiver, done: () => void): void {
    this.receiving.deregister(receiver, done);
  }

  /** A send met an expired session: every node shows it, also when no poller runs to find out. */
  noteSessionExpired(error: SessionExpiredError): void {
    this.status.set('session-expired', error.message);
  }

  /**
   * A new login for this config node (from the editor's login button): use the
   * new token at once, so a bot whose session expired works again without
   * waiting for the deploy.
   */
  async adoptLogin(credentials: LoginCredentials): Promise<void> {
    if (this.closed) return;
    await this.receiving.stop();
    await this.current?.typing.stopAll();
    this.settings = { ...this.settings, baseUrl: credentials.baseUrl, botId: credentials.botId, ownerUserId: credentials.userId };
    this.current = this.logIn(credentials.token);
    this.receiving.resume();
  }

  /** Config node close: typing off, poller stopped (in-flight poll aborted). */
  async close(): Promise<void> {
    this.closed = true;
    await this.current?.typing.stopAll();
    await this.receiving.close();
  }

  private loggedIn(): LoggedIn {
    if (!this.current) throw new NotLoggedInError();
    return this.current;
  }

  private logIn(token: string | undefined): LoggedIn | undefined {
    const client = buildBotClient(this.settings, token, this.options.stateDir, this.options.logger);
    if (!client) return undefined;
    // The client's own sessions: a message sent to the user ends their "typing…".
    return { client, typing: client.typingSessions };
  }
}
