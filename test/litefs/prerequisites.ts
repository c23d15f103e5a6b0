import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in test/litefs/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LiteFsTools {
  readonly litefs: string;
  readonly consul: string;
  readonly fusermount: string;
  /** scripts/litefs-entrypoint.sh: fills the LITEFS_* defaults and execs `litefs mount`. */
  readonly entrypoint: string;
  /** The repository's litefs.yml, the same file production runs. */
  readonly config: string;
}

/**
 * Checks everything a real LiteFS cluster needs and returns the tool paths, or throws one error
 * naming every missing piece. The suite never skips: a machine that cannot run it fails loudly.
 * Binaries come from LITEFS_BIN / CONSUL_BIN, else from scripts/install-tools.sh (which reuses
 * its cache; on a cold cache it builds, which takes minutes).
 */
export function liteFsPrerequisites(env: NodeJS.ProcessEnv = process.env): LiteFsTools {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push(`Linux (FUSE mounts; this is ${process.platform})`);
  if (process.getuid?.() !== 0) missing.push(`root (LiteFS mounts FUSE and /dev/fuse is root-only; running as uid ${process.getuid?.() ?? '?'})`);
  if (!canReadWrite('/dev/fuse')) missing.push('/dev/fuse (absent or not read-writable: a container needs --device /dev/fuse --cap-add SYS_ADMIN)');
  const fusermount = onPath('fusermount3', env);
  if (fusermount === null) missing.push('fusermount3 on PATH (apt-get install fuse3)');
  const entrypoint = join(REPO_ROOT, 'scripts', 'litefs-entrypoint.sh');
  const config = join(REPO_ROOT, 'litefs.yml');
  if (!existsSync(entrypoint)) missing.push(`${entrypoint}`);
  if (!existsSync(config)) missing.push(`${config}`);

  let litefs = env['LITEFS_BIN'] || null;
  let consul = env['CONSUL_BIN'] || null;
  // The install script apt-gets fuse3 when it is missing: only run it on a machine that is
  // otherwise able to run the suite, so a plain developer run just reports what is missing.
  const canInstall = missing.length === 0;
  if ((litefs === null || consul === null) && canInstall) {
    const installed = runInstallTools(env);
    if (typeof installed === 'string') missing.push(installed);
    else {
      litefs ??= installed.litefs;
      consul ??= installed.consul;
    }
  }
  const notLookedUp = !canInstall ? '; scripts/install-tools.sh is only run once the items above are present' : '';
  if (litefs === null) missing.push(`the litefs binary (set LITEFS_BIN or run scripts/install-tools.sh${notLookedUp})`);
  else if (!isExecutable(litefs)) missing.push(`an executable litefs at ${litefs} (LITEFS_BIN)`);
  if (consul === null) missing.push(`the consul binary (set CONSUL_BIN or run scripts/install-tools.sh${notLookedUp})`);
  else if (!isExecutable(consul)) missing.push(`an executable consul at ${consul} (CONSUL_BIN)`);

  if (missing.length > 0 || litefs === null || consul === null || fusermount === null) {
    throw new Error(`The real-LiteFS suite cannot run on this machine; missing:\n  - ${missing.join('\n  - ')}`);
  }
  return { litefs, consul, fusermount, entrypoint, config };
}

function runInstallTools(env: NodeJS.ProcessEnv): { litefs: string; consul: string } | string {
  const script = join(REPO_ROOT, 'scripts', 'install-tools.sh');
  const result = spawnSync(script, [], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30 * 60_000 });
  const lines = (result.stdout ?? '').trim().split('\n');
  if (result.status !== 0 || lines.length < 2) {
    const why = result.error ? result.error.message : (result.stderr ?? '').trim().split('\n').slice(-5).join(' | ');
    return `litefs and consul binaries: scripts/install-tools.sh exited ${result.status ?? result.signal} (${why})`;
  }
  return { litefs: lines[lines.length - 2]!, consul: lines[lines.length - 1]! };
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    const candidate = join(dir || '.', name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function canReadWrite(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
