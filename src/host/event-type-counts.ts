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
  /** A counter object per name: one lookup per event on the hot path, not a get and a set. */
  readonly #counts = new Map<string, { n: number }>();
  #unknown = 0;

  count(name: string): void {
    const counter = this.#counts.get(name);
    if (counter !== undefined) {
      counter.n += 1;
      return;
    }
    let key = name;
    if (!KNOWN.has(name)) {
      if (this.#unknown < MAX_UNKNOWN && NAME.test(name)) this.#unknown += 1;
      else key = 'OTHER';
    }
    let shared = this.#counts.get(key);
    if (shared === undefined) this.#counts.set(key, (shared = { n: 0 }));
    shared.n += 1;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, counter] of this.#counts) out[name] = counter.n;
    return out;
  }
}
