/**
 * The bot's connection state, told to every node that uses the bot (the
 * "users" of 10-mqtt.js's broker node): each maps it to its own status.
 */

/** 'stopped': logged in, nothing receiving (sending works). */
export type ConnectionState = 'not-logged-in' | 'connecting' | 'polling' | 'retrying' | 'session-expired' | 'conflict' | 'stopped';

export type StateListener = (state: ConnectionState, detail?: string) => void;

export class ConnectionStatus {
  private readonly listeners = new Set<StateListener>();
  private stateValue: ConnectionState;
  private detailValue: string | undefined;

  constructor(initial: ConnectionState) {
    this.stateValue = initial;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Calls the listener now and on every change, until the returned function is called. */
  watch(listener: StateListener): () => void {
    this.listeners.add(listener);
    listener(this.stateValue, this.detailValue);
    return () => void this.listeners.delete(listener);
  }

  set(state: ConnectionState, detail?: string): void {
    if (state === this.stateValue && detail === this.detailValue) return;
    this.stateValue = state;
    this.detailValue = detail;
    for (const listener of [...this.listeners]) listener(state, detail);
  }
}
