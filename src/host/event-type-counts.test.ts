import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { EventTypeCounts } from './event-type-counts.ts';

describe('EventTypeCounts', () => {
  it('regression: eventsByType grew one key per distinct dispatch name the gateway sent', () => {
    const counts = new EventTypeCounts();
    for (let i = 0; i < 10_000; i++) counts.count(`FUZZ_${i}`);
    for (let i = 0; i < 100; i++) counts.count(`${'x'.repeat(10_000)}${i}`);
    for (const name of Object.values(GatewayDispatchEvents)) counts.count(name);
    const snapshot = counts.snapshot();
    expect(Object.keys(snapshot).length).toBeLessThanOrEqual(Object.values(GatewayDispatchEvents).length + 17);
    expect(snapshot['OTHER']).toBe(10_000 + 100 - 16);
    expect(snapshot['MESSAGE_CREATE']).toBe(1);
    expect(snapshot['FUZZ_3']).toBe(1);
  });
});
