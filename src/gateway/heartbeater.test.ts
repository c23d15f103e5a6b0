import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeater } from './heartbeater.ts';
import { TimerSet } from './timer-set.ts';

function setup(random = 0.5, readingPaused = false) {
  const timers = new TimerSet();
  const beats: number[] = [];
  const zombies: number[] = [];
  const acks: number[] = [];
  const hb = new Heartbeater({
    timers,
    clock: { now: () => Date.now() },
    random: () => random,
    beat: () => beats.push(Date.now()),
    onZombie: () => zombies.push(Date.now()),
    onAck: (ms) => acks.push(ms),
    readingPaused: () => readingPaused,
  });
  return { timers, beats, zombies, acks, hb };
}

describe('Heartbeater', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats first after interval * random, then every interval, and reports ACK latency', () => {
    const { hb, beats, acks } = setup(0.25);
    hb.start(1_000);
    vi.advanceTimersByTime(249);
    expect(beats).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(beats).toEqual([250]);
    vi.advanceTimersByTime(40);
    hb.ack();
    expect(acks).toEqual([40]);
    vi.advanceTimersByTime(960);
    expect(beats).toEqual([250, 1_250]);
    hb.ack();
    vi.advanceTimersByTime(1_000);
    expect(beats).toEqual([250, 1_250, 2_250]);
    hb.stop();
  });

  it('declares a zombie when no ACK came between two beats, and stops', () => {
    const { hb, beats, zombies, timers } = setup(0);
    hb.start(1_000);
    vi.advanceTimersByTime(0);
    expect(beats).toEqual([0]);
    vi.advanceTimersByTime(1_000);
    expect(zombies).toEqual([1_000]);
    expect(beats).toEqual([0]);
    expect(timers.size).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(zombies).toHaveLength(1);
  });

  it('server op 1 makes it beat at once without changing the schedule', () => {
    const { hb, beats } = setup(0.5);
    hb.start(1_000);
    vi.advanceTimersByTime(100);
    hb.beatNow();
    expect(beats).toEqual([100]);
    hb.ack();
    vi.advanceTimersByTime(400);
    expect(beats).toEqual([100, 500]);
    hb.stop();
  });

  it('does not call a paused reader a zombie', () => {
    const { hb, beats, zombies } = setup(0, true);
    hb.start(1_000);
    vi.advanceTimersByTime(2_000);
    expect(zombies).toEqual([]);
    expect(beats).toEqual([0, 1_000, 2_000]);
    hb.stop();
  });

  it('stop() leaves no timer', () => {
    const { hb, timers } = setup(0.9);
    hb.start(1_000);
    expect(timers.size).toBe(1);
    hb.stop();
    expect(timers.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
