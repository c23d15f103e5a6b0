import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A child started in its own process group (pgid = pid), so one signal reaches its children too. */
export interface GroupProcess {
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the leader has exited. */
  readonly exited: Promise<number | null>;
  running(): boolean;
}

export function spawnGroup(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; logPath: string }): GroupProcess {
  const log = openSync(options.logPath, 'a');
  try {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', log, log] });
    let running = true;
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        running = false;
        resolve(code);
      });
      child.once('error', () => {
        running = false;
        resolve(null);
      });
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}: no pid`);
    return { pid: child.pid, exited, running: () => running };
  } finally {
    closeSync(log);
  }
}

/** Signals the whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * SIGTERM, then SIGKILL of the group if the leader has not exited after `graceMs`; `onKill`
 * runs right after that SIGKILL (a FUSE daemon's mount must be aborted then, see below).
 */
export async function stopGroup(proc: GroupProcess, graceMs: number, onKill?: () => void): Promise<void> {
  if (proc.running()) signalGroup(proc.pid, 'SIGTERM');
  const graceful = await exitedWithin(proc, graceMs);
  // Also after a clean exit: an app child that ignored the signal must not outlive its node.
  signalGroup(proc.pid, 'SIGKILL');
  if (graceful) return;
  onKill?.();
  await proc.exited;
}

/** True once the leader has exited, false if it still runs after `ms`. */
export async function exitedWithin(proc: GroupProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    proc.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return exited;
}

const FUSECTL = '/sys/fs/fuse/connections';

/**
 * Aborts the FUSE connection behind a mount (fusectl's `abort`): every request waiting on it
 * fails at once. Needed after SIGKILL of LiteFS: seen once in ~60 kills, its last thread hung in
 * D state inside a write to /dev/fuse (a reverse invalidation of a database page waiting for a
 * writeback that only its killed threads could serve), so it never exited, and its app hung
 * in exit on the mount's mmap'd SQLite shm. The kernel only aborts a connection on its own
 * once the daemon's /dev/fuse is closed, which that hung exit never gets to. Mounts fusectl
 * when it is not mounted. Returns an error text when it could not abort (nothing to abort:
 * null).
 */
export function abortFuseConnection(mountDir: string): string | null {
  let device: string | undefined;
  try {
    // mountinfo: id parent major:minor root mountpoint ...; the mount point is the fifth field.
    device = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === mountDir)?.[2];
  } catch (error) {
    return `cannot read /proc/self/mountinfo: ${(error as Error).message}`;
  }
  if (device === undefined) return null;
  const connection = `${FUSECTL}/${device.split(':')[1]}`;
  try {
    if (!existsSync(connection) && readdirSync(FUSECTL).length === 0) spawnSync('mount', ['-t', 'fusectl', 'none', FUSECTL], { timeout: 5_000 });
    writeFileSync(`${connection}/abort`, '1');
    return null;
  } catch (error) {
    return `cannot abort the FUSE connection of ${mountDir} (${connection}/abort): ${(error as Error).message}`;
  }
}

export function isMounted(dir: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

/** Unmounts a (possibly dangling) FUSE mount; returns an error text when it is still mounted. */
export function unmount(dir: string, fusermount: string): string | null {
  if (!isMounted(dir)) return null;
  const normal = spawnSync(fusermount, ['-u', dir], { encoding: 'utf8', timeout: 10_000 });
  if (!isMounted(dir)) return null;
  // A file still open on a dead mount makes the normal unmount fail with EBUSY.
  const lazy = spawnSync('umount', ['-l', dir], { encoding: 'utf8', timeout: 10_000 });
  if (!isMounted(dir)) return null;
  return `could not unmount ${dir}: ${fusermount} -u: ${normal.stderr?.trim() || normal.status}; umount -l: ${lazy.stderr?.trim() || lazy.status}`;
}

/**
 * A port nothing listens on right now, never one in `taken` (which it is added to). It lies
 * below the kernel's ephemeral range when there is room: a port from listen(0) is itself
 * ephemeral, and between this probe and the server's own listen (a node starts in ~1 s) an
 * outgoing connection may take it as its local port (EADDRINUSE, seen about once in 50 clusters).
 */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  const [low] = ephemeralRange();
  for (let attempt = 0; ; attempt++) {
    const wanted = low > 12_000 && attempt < 50 ? 10_000 + Math.floor(Math.random() * (low - 10_000)) : 0;
    if (taken.has(wanted)) continue;
    const port = await listenOnce(wanted);
    if (port === null || taken.has(port)) continue;
    taken.add(port);
    return port;
  }
}

/** The kernel's ephemeral port range for outgoing connections (Linux), or the common default. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // Not Linux, or no procfs.
  }
  return [32_768, 60_999];
}

/** Listens on `port` (0: any) on loopback and closes again; the port, or null when it is taken. */
function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : null));
    });
  });
}

export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(no log: ${(error as Error).message})`;
  }
}

/** One HTTP GET that never throws: the body as text, or null when unreachable or not 2xx. */
export async function getText(url: string, timeoutMs = 2_000): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    return response.ok ? text : null;
  } catch {
    return null;
  }
}
