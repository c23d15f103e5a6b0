import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { LiteFsCluster } from './litefs-cluster.ts';
import { liteFsPrerequisites, type LiteFsTools } from './prerequisites.ts';
import { isMounted } from './processes.ts';

/** Live (not zombie) processes of a process group, as pid and command name. */
function groupMembers(pgid: number): { pid: number; comm: string }[] {
  const members: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, pgrp, ...
      const close = stat.lastIndexOf(')');
      const [state, , pgrp] = stat.slice(close + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('real LiteFS harness', () => {
  let tools: LiteFsTools;
  const clusters: LiteFsCluster[] = [];

  beforeAll(() => {
    tools = liteFsPrerequisites();
  });

  afterAll(async () => {
    await Promise.allSettled(clusters.map((c) => c.close()));
  });

  it('names every missing prerequisite instead of skipping', () => {
    const error = (() => {
      try {
        liteFsPrerequisites({ PATH: '/nonexistent', LITEFS_BIN: '/nonexistent/litefs', CONSUL_BIN: '/nonexistent/consul' });
      } catch (e) {
        return e as Error;
      }
      throw new Error('prerequisites passed without fusermount3 and binaries');
    })();
    expect(error.message).toContain('fusermount3');
    expect(error.message).toContain('/nonexistent/litefs');
    expect(error.message).toContain('/nonexistent/consul');
  });

  it('runs each node\'s exec command with its extra env once joined; a crash kills it, a restart runs it again', async () => {
    // LiteFS expands $VARS in litefs.yml from its own environment, and runs the app in its cwd (the node's dir).
    const exec = 'sh -c "echo $SHARDLINE_TEST_MARK > exec.out; exec sleep 100000"';
    const spec = (hostname: string) => ({ hostname, exec, env: { SHARDLINE_TEST_MARK: `mark-${hostname}` } });
    const cluster = await LiteFsCluster.start({ tools, nodes: [spec('n1'), spec('n2')] });
    clusters.push(cluster);
    for (const hostname of ['n1', 'n2']) {
      const file = join(cluster.dir, hostname, 'exec.out');
      await waitFor(() => existsSync(file) && readFileSync(file, 'utf8') === `mark-${hostname}\n`, { message: `${hostname} ran its exec command` });
    }
    const app = (): { pid: number } | undefined => groupMembers(cluster.pid('n2')!).find((m) => m.comm === 'sleep');
    const sleeper = await waitFor(app, { message: 'n2\'s app in its process group' });
    await cluster.kill('n2');
    expect(cluster.pid('n2')).toBeNull();
    expect(alive(sleeper.pid)).toBe(false);
    expect(isMounted(cluster.node('n2').mountDir)).toBe(false);
    await cluster.restart('n2');
    const again = await waitFor(app, { message: 'n2\'s app runs again after restart' });
    expect(again.pid).not.toBe(sleeper.pid);
    expect((await cluster.info('n2'))?.primary?.hostname).toBe('n1');
    await cluster.close();
    expect(alive(again.pid)).toBe(false);
    expect(cluster.nodes.some((n) => isMounted(n.mountDir))).toBe(false);
  });
});
