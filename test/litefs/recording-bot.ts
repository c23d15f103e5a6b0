import { closeSync, openSync, writeSync } from 'node:fs';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { defineBot } from '../../src/bot.ts';

/**
 * The bot every real-LiteFS node runs (SHARDLINE_BOT): it appends one JSON line per sequenced
 * dispatch to the file named by SHARDLINE_TEST_RECORD, `{shardId, sessionId, seq, t, at, pid}`,
 * so the test process can check the simulator's ledger against what every node handled (and
 * tell a node's processes apart across a restart).
 * Each line is one synchronous write(2): once the handler returned, the line is in the kernel's
 * page cache and survives a kill -9 of the node (a buffered stream would lose its tail and
 * show handled events as lost).
 */
const path = process.env['SHARDLINE_TEST_RECORD'];
if (!path) throw new Error('recording-bot: SHARDLINE_TEST_RECORD must name the file to append dispatches to');
const fd = openSync(path, 'a');
process.once('exit', () => closeSync(fd));

export default defineBot({
  // Everything the cache tables hold, so the funnel writes what a caching bot would.
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMembers,
    GatewayIntentBits.GuildModeration,
    GatewayIntentBits.GuildExpressions,
    GatewayIntentBits.GuildVoiceStates,
    GatewayIntentBits.GuildPresences,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent,
  ],
  onDispatch(event) {
    if (event.seq === null) return;
    writeSync(fd, `${JSON.stringify({ shardId: event.shardId, sessionId: event.sessionId, seq: event.seq, t: event.t, at: Date.now(), pid: process.pid })}\n`);
  },
});
