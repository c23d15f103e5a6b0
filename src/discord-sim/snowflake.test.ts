import { describe, expect, it } from 'vitest';
import { SnowflakeMinter, isSnowflake, makeSnowflake, shardForGuild, snowflakeTimestamp } from './snowflake.ts';

describe('snowflakes', () => {
  it('round-trips the timestamp and applies the sharding formula', () => {
    const id = makeSnowflake(Date.UTC(2020, 0, 1), 1, 0, 5);
    expect(snowflakeTimestamp(id)).toBe(Date.UTC(2020, 0, 1));
    expect(shardForGuild('41771983423143937', 4)).toBe(Number((41771983423143937n >> 22n) % 4n));
    expect(isSnowflake(id)).toBe(true);
    expect(isSnowflake('abc')).toBe(false);
  });

  it('mints unique, increasing ids deterministically', () => {
    const a = new SnowflakeMinter(Date.UTC(2021, 0, 1));
    const b = new SnowflakeMinter(Date.UTC(2021, 0, 1));
    const ids = Array.from({ length: 10_000 }, () => a.mint());
    expect(new Set(ids).size).toBe(10_000);
    expect(ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]!))).toBe(true);
    expect(b.mint()).toBe(ids[0]);
  });

  it('never re-mints an id when the clock advances by 0 ms', () => {
    const minter = new SnowflakeMinter(Date.UTC(2021, 0, 1));
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      ids.add(minter.mint());
      minter.advance(i % 3);
    }
    expect(ids.size).toBe(1000);
  });
});
