/** Discord's epoch (2015-01-01T00:00:00Z) as a BigInt of milliseconds. */
export const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** Builds a snowflake from its parts (timestamp in Unix ms). */
export function makeSnowflake(timestampMs: number, workerId: number, processId: number, increment: number): string {
  const ts = BigInt(timestampMs) - DISCORD_EPOCH_MS;
  const id = (ts << 22n) | (BigInt(workerId & 0x1f) << 17n) | (BigInt(processId & 0x1f) << 12n) | BigInt(increment & 0xfff);
  return id.toString();
}

/** Unix milliseconds encoded in a snowflake. */
export function snowflakeTimestamp(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);
}

/** Discord's sharding formula: (guild_id >> 22) % shard_count. Throws on a non-numeric id. */
export function shardForGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,20}$/.test(value) && BigInt(value) < 1n << 64n;
}

/**
 * Mints unique, valid, deterministic snowflakes on a virtual clock: `mint()` advances the
 * increment and moves the timestamp one millisecond every 4096 ids, so ids stay ordered
 * without reading the wall clock.
 */
export class SnowflakeMinter {
  #timestampMs: number;
  #increment = 0;
  readonly #workerId: number;
  #isoMs = Number.NaN;
  #iso = '';

  constructor(startMs: number, workerId = 1) {
    this.#timestampMs = startMs;
    this.#workerId = workerId;
  }

  mint(): string {
    const id = makeSnowflake(this.#timestampMs, this.#workerId, 0, this.#increment);
    this.#increment += 1;
    if (this.#increment === 4096) {
      this.#increment = 0;
      this.#timestampMs += 1;
    }
    return id;
  }

  /** Moves the virtual clock forward (never backward), e.g. one tick per generated message. */
  advance(ms: number): void {
    // Restarting the increment is only safe on a new millisecond: advance(0) must not re-mint ids.
    if (!(ms > 0)) return;
    this.#timestampMs += ms;
    this.#increment = 0;
  }

  /** The virtual time as an ISO string, for timestamps inside payloads. */
  nowIso(): string {
    // Many payloads share one virtual millisecond; formatting a Date each time showed in profiles.
    if (this.#isoMs !== this.#timestampMs) {
      this.#isoMs = this.#timestampMs;
      this.#iso = new Date(this.#timestampMs).toISOString();
    }
    return this.#iso;
  }
}
