import { describe, expect, it } from 'vitest';
import { TimerRegistry } from './timer-registry.ts';
import { Traffic } from './traffic.ts';
import { TRAFFIC_EVENTS } from './traffic-events.ts';
import { generateWorld } from './world-generator.ts';

interface Sent {
  guildId: string | null;
  event: string;
  data: any;
}

function setup(seed = 9) {
  const world = generateWorld({ seed, guilds: 4, membersPerGuild: 12, userPool: 30 });
  const sent: Sent[] = [];
  const timers = new TimerRegistry();
  const traffic = new Traffic(world, {
    toGuild: (guildId, event, data) => sent.push({ guildId, event, data: JSON.parse(JSON.stringify(data)) }),
    global: (event, data) => sent.push({ guildId: null, event, data: JSON.parse(JSON.stringify(data)) }),
  }, timers);
  return { world, sent, traffic, timers };
}

describe('Traffic', () => {
  it('is deterministic from the seed', () => {
    const a = setup();
    const b = setup();
    a.traffic.emit(500);
    b.traffic.emit(500);
    expect(JSON.stringify(a.sent)).toBe(JSON.stringify(b.sent));
    // A removed member who was in voice is disconnected first: one event, two dispatches.
    const voiceLeavesBeforeRemove = a.sent.filter((s, i) => s.event === 'GUILD_MEMBER_REMOVE' && a.sent[i - 1]?.event === 'VOICE_STATE_UPDATE' && a.sent[i - 1]?.data.user_id === s.data.user.id).length;
    expect(a.sent.length - voiceLeavesBeforeRemove).toBe(500);
  });

  it('produces every kind in the mix, USER_UPDATE only guild-less', () => {
    const { sent, traffic } = setup();
    traffic.setMix(Object.fromEntries(TRAFFIC_EVENTS.map((k) => [k, 1])));
    traffic.emit(2000);
    const kinds = new Set(sent.map((s) => s.event));
    for (const kind of TRAFFIC_EVENTS) expect(kinds.has(kind)).toBe(true);
    expect(sent.filter((s) => s.guildId === null).every((s) => s.event === 'USER_UPDATE')).toBe(true);
  });

  it('mutates the world so that it matches what the events said', () => {
    const { world, sent, traffic } = setup();
    traffic.setMix(Object.fromEntries(TRAFFIC_EVENTS.map((k) => [k, 1])));
    traffic.emit(3000);
    // Replaying the events onto the initial world reproduces membership and channel sets.
    const fresh = generateWorld({ seed: 9, guilds: 4, membersPerGuild: 12, userPool: 30 });
    const members = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.members.keys())]));
    const channels = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.channels.keys())]));
    const threads = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.threads.keys())]));
    const roles = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.roles.keys())]));
    for (const { guildId, event, data } of sent) {
      if (guildId === null) continue;
      if (event === 'GUILD_MEMBER_ADD') members.get(guildId)!.add(data.user.id);
      if (event === 'GUILD_MEMBER_REMOVE') members.get(guildId)!.delete(data.user.id);
      if (event === 'CHANNEL_CREATE') channels.get(guildId)!.add(data.id);
      if (event === 'CHANNEL_DELETE') channels.get(guildId)!.delete(data.id);
      if (event === 'THREAD_CREATE') threads.get(guildId)!.add(data.id);
      if (event === 'THREAD_DELETE') threads.get(guildId)!.delete(data.id);
      if (event === 'GUILD_ROLE_CREATE') roles.get(guildId)!.add(data.role.id);
      if (event === 'GUILD_ROLE_DELETE') roles.get(guildId)!.delete(data.role_id);
    }
    const voice = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.voiceStates.keys())]));
    for (const { guildId, event, data } of sent) {
      if (guildId === null || event !== 'VOICE_STATE_UPDATE') continue;
      if (data.channel_id === null) voice.get(guildId)!.delete(data.user_id);
      else voice.get(guildId)!.add(data.user_id);
    }
    for (const g of world.guilds.values()) {
      expect(new Set(g.voiceStates.keys())).toEqual(voice.get(g.id));
      expect(new Set(g.members.keys())).toEqual(members.get(g.id));
      expect(new Set(g.channels.keys())).toEqual(channels.get(g.id));
      expect(new Set(g.threads.keys())).toEqual(threads.get(g.id));
      expect(new Set(g.roles.keys())).toEqual(roles.get(g.id));
    }
    const lastPresence = sent.filter((s) => s.event === 'PRESENCE_UPDATE').at(-1)!;
    expect(world.guilds.get(lastPresence.guildId!)!.presences.get(lastPresence.data.user.id)?.status).toBe(lastPresence.data.status);
  });

  it('picks authors, channels and threads that exist at that moment, though the lists are cached', () => {
    const { world, sent, traffic } = setup();
    // Membership and channel churn between messages: a stale cached list would name a removed
    // member or a deleted channel.
    traffic.setMix({ MESSAGE_CREATE: 4, GUILD_MEMBER_ADD: 2, GUILD_MEMBER_REMOVE: 2, CHANNEL_CREATE: 1, CHANNEL_DELETE: 1, THREAD_CREATE: 1, THREAD_DELETE: 1 });
    const fresh = generateWorld({ seed: 9, guilds: 4, membersPerGuild: 12, userPool: 30 });
    const members = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set(g.members.keys())]));
    const rooms = new Map([...fresh.guilds.values()].map((g) => [g.id, new Set([...g.channels.keys(), ...g.threads.keys()])]));
    traffic.emit(3000);
    let messages = 0;
    for (const { guildId, event, data } of sent) {
      if (guildId === null) continue;
      if (event === 'MESSAGE_CREATE') {
        messages += 1;
        expect(members.get(guildId)!.has(data.author.id)).toBe(true);
        expect(rooms.get(guildId)!.has(data.channel_id)).toBe(true);
      }
      if (event === 'GUILD_MEMBER_ADD') members.get(guildId)!.add(data.user.id);
      if (event === 'GUILD_MEMBER_REMOVE') members.get(guildId)!.delete(data.user.id);
      if (event === 'CHANNEL_CREATE' || event === 'THREAD_CREATE') rooms.get(guildId)!.add(data.id);
      if (event === 'CHANNEL_DELETE' || event === 'THREAD_DELETE') rooms.get(guildId)!.delete(data.id);
    }
    expect(messages).toBeGreaterThan(500);
    expect(world.guilds.size).toBe(4);
  });

  it('runs on one timer, emits about the asked rate, and stops cleanly', async () => {
    const { sent, traffic, timers } = setup();
    traffic.start({ eventsPerSecond: 2000, tickMs: 10 });
    expect(timers.size).toBe(1);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (sent.length >= 200) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    traffic.stop();
    expect(timers.size).toBe(0);
    expect(traffic.running).toBe(false);
    const count = sent.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent.length).toBe(count);
  });

  it('rejects bad input', () => {
    const { traffic } = setup();
    expect(() => traffic.emit(-1)).toThrow(/non-negative/);
    expect(() => traffic.start({ eventsPerSecond: 0 })).toThrow(/eventsPerSecond/);
    expect(() => traffic.setMix({ MESSAGE_CREATE: 0 })).toThrow(/every weight/);
  });
});
