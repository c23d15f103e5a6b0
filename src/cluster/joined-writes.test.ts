import { describe, expect, it } from 'vitest';
import { JoinedWrites } from './joined-writes.ts';

/** An exclusive() whose turns are given by hand. */
function turns() {
  const queue: (() => void)[] = [];
  return {
    exclusive: (write: () => void) => new Promise<void>((resolve, reject) => queue.push(() => {
      try {
        write();
        resolve();
      } catch (error) {
        reject(error);
      }
    })),
    next: () => queue.shift()!(),
    get waiting() {
      return queue.length;
    },
  };
}

describe('JoinedWrites', () => {
  it('writes everything queued while a turn waits in that one turn, and the rest in the next', async () => {
    const t = turns();
    const runs: number[][] = [];
    const joined = new JoinedWrites<number>((items) => void runs.push([...items]), t.exclusive);
    const first = [joined.add(1), joined.add(2), joined.add(3)];
    expect(t.waiting).toBe(1);
    t.next();
    await Promise.all(first);
    const late = joined.add(4);
    t.next();
    await late;
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('fails every write of a failed turn, and only those', async () => {
    const t = turns();
    let fail = true;
    const joined = new JoinedWrites<string>(() => {
      if (fail) throw new Error('lost the primary role');
    }, t.exclusive);
    const a = joined.add('a');
    const b = joined.add('b');
    t.next();
    await expect(a).rejects.toThrow('lost the primary role');
    await expect(b).rejects.toThrow('lost the primary role');
    fail = false;
    const c = joined.add('c');
    t.next();
    await expect(c).resolves.toBeUndefined();
  });
});
