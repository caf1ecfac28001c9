/** The simulated bot account a host logs in with (created through the simulator's admin API). */
export interface BotAccount {
  botId: string;
  ownerUserId: string;
  /** Secret: goes only into a host's credential store, never to the terminal or a log. */
  token: string;
  apiBaseUrl: string;
  cdnBaseUrl: string;
}
