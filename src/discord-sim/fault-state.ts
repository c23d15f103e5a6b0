/** Fault switches the gateway consults on its own (the rest act on connections at once). */
export class FaultState {
  /** Shards whose heartbeats get no op 11. */
  readonly withheldAcks = new Set<number>();
  /** Extra delay before READY for identifies from now on. */
  readyDelayMs = 0;
  /** How many upcoming new connections get op 7 instead of HELLO first. */
  reconnectsBeforeHello = 0;

  takeReconnectBeforeHello(): boolean {
    if (this.reconnectsBeforeHello <= 0) return false;
    this.reconnectsBeforeHello -= 1;
    return true;
  }

  reset(): void {
    this.withheldAcks.clear();
    this.readyDelayMs = 0;
    this.reconnectsBeforeHello = 0;
  }
}
