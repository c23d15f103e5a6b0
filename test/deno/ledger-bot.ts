/**
 * The bot of the Deno node in the mixed Node/Deno cluster test: it appends every dispatch it
 * handles as one JSON line to $SHARDLINE_TEST_LEDGER, which the Node test process reads back
 * for the simulator's ledger check (the two processes share no memory).
 */
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { defineBot } from '../../src/bot.ts';

const file = process.env['SHARDLINE_TEST_LEDGER'];
if (!file) throw new Error('SHARDLINE_TEST_LEDGER must name the file the Deno node records its handled events in');

export default defineBot({
  intents:
    GatewayIntentBits.Guilds |
    GatewayIntentBits.GuildMembers |
    GatewayIntentBits.GuildModeration |
    GatewayIntentBits.GuildExpressions |
    GatewayIntentBits.GuildVoiceStates |
    GatewayIntentBits.GuildPresences |
    GatewayIntentBits.GuildMessages |
    GatewayIntentBits.MessageContent,
  onDispatch(event) {
    if (event.seq === null) return;
    // Synchronous, so a line is on disk before the next event and before the shard detaches.
    appendFileSync(file, `${JSON.stringify({ shardId: event.shardId, sessionId: event.sessionId, seq: event.seq, t: event.t })}\n`);
  },
});
