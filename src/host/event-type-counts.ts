import { GatewayDispatchEvents } from 'discord-api-types/v10';

const KNOWN: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents));

/** Names outside discord-api-types' list counted under their own name (Discord adds events over time); the rest share OTHER. */
const MAX_UNKNOWN = 16;
const NAME = /^[A-Z0-9_]{1,64}$/;

/**
 * Dispatches per event name for GET /status and /metrics. The names come from the gateway, so
 * they are bounded here: every known dispatch name, up to 16 others that look like one, and
 * OTHER for the rest. A gateway (or a proxy, or a fuzzer) sending a new name with every frame
 * would otherwise grow the map, the status and the metric label set without end.
 */
export class EventTypeCounts {
  readonly #counts = new Map<string, number>();
  #unknown = 0;

  count(name: string): void {
    const n = this.#counts.get(name);
    if (n !== undefined) {
      this.#counts.set(name, n + 1);
      return;
    }
    let key = name;
    if (!KNOWN.has(name)) {
      if (this.#unknown < MAX_UNKNOWN && NAME.test(name)) this.#unknown += 1;
      else key = 'OTHER';
    }
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
