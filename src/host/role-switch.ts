import type { PrimaryRole } from '../cluster/primary-role.ts';
import type { RoutingWriter } from '../cluster/routing-writer.ts';
import type { LeaderState } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';

export interface RoleSwitchInputs {
  /** Called each time this node becomes primary; the switch starts what it returns. */
  create(): PrimaryRole;
  /** Null until the host has built it; a role taken on earlier is handed to it then. */
  writer(): RoutingWriter | null;
  /** A closing host takes on no role: teardown is already stopping the one it had. */
  closing(): boolean;
  readonly logger: Logger;
}

/** Holds this node's primary role exactly while the leadership says it is primary. */
export class RoleSwitch {
  readonly #i: RoleSwitchInputs;
  #current: PrimaryRole | null = null;
  #change: Promise<void> = Promise.resolve();

  constructor(inputs: RoleSwitchInputs) {
    this.#i = inputs;
  }

  /** Primary-only duties, while this node holds the lease. */
  get current(): PrimaryRole | null {
    return this.#current;
  }

  /** Queues a leadership change behind the previous one, so a role never starts while the last one still stops. */
  follow(state: LeaderState): void {
    this.#change = this.#change.then(() => this.apply(state)).catch((error: unknown) => this.#i.logger.error({ err: error }, 'role change failed'));
  }

  /** Becomes or stops being the primary. */
  async apply(state: LeaderState): Promise<void> {
    if (this.#i.closing()) return;
    if (state.isPrimary && !this.#current) {
      const role = this.#i.create();
      await role.start();
      this.#current = role;
      this.#i.writer()?.useLocal(role.funnel);
      this.#i.logger.info('this node is the primary');
    } else if (!state.isPrimary && this.#current) {
      const role = this.#current;
      this.#current = null;
      // Uncommitted local writes go to the new primary before anything newer; those other
      // nodes forwarded are refused, and their senders send them again, in their own order.
      role.relinquish();
      this.#i.writer()?.useForwarding((entry) => !role.isForwarded(entry));
      await role.stop();
      this.#i.logger.warn({ primary: state.primary }, 'this node is no longer the primary');
    }
  }

  /** For teardown: waits out a change under way, so no role starts after this, then ends the role. */
  async stop(graceful: boolean): Promise<void> {
    await this.#change;
    const role = this.#current;
    this.#current = null;
    if (role) {
      if (graceful) await role.stop();
      else await role.kill();
    }
  }
}
