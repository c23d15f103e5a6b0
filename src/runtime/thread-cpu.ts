import { readFileSync } from 'node:fs';

/** Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ) on every architecture shardline runs on. */
const MS_PER_TICK = 10;

/**
 * CPU time of the calling thread in ms, from Linux's /proc/thread-self/stat (10 ms steps);
 * null elsewhere. Node 20 and Deno have no thread CPU clock of their own; the event-loop stall
 * monitor uses it to tell a loop blocked by its own work from a process the machine did not run.
 */
export function threadCpuMs(): number | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) of proc(5), here after state (field 3) at index 0.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * MS_PER_TICK : null;
}

/** threadCpuMs where it works on this machine, else undefined (the monitor then counts every stall). */
export function threadCpuClock(): (() => number | null) | undefined {
  return threadCpuMs() === null ? undefined : threadCpuMs;
}
