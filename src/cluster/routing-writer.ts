import type { WriteEntry, Writer } from '../core/mutation.ts';
import type { ForwardingWriter } from './forwarding-writer.ts';

/** The local funnel, while this node is primary; otherwise the forwarding writer. */
export interface LocalWriter extends Writer {
  drain(): WriteEntry[];
}

/**
 * Contract 3 and 4 in one place: writes go to the primary's funnel when this node is the
 * primary, and are forwarded otherwise. On a role change the queued entries move across in
 * order, before anything newer, so a shard's writes never reorder.
 */
export class RoutingWriter implements Writer {
  readonly #forwarder: ForwardingWriter;
  #local: LocalWriter | null = null;

  constructor(forwarder: ForwardingWriter) {
    this.#forwarder = forwarder;
  }

  get isLocal(): boolean {
    return this.#local !== null;
  }

  /** This node became primary: forwarded-but-unacknowledged entries are applied here. */
  useLocal(local: LocalWriter): void {
    this.#local = local;
    for (const entry of this.#forwarder.takeAll()) void local.enqueue(entry).catch(() => {});
  }

  /** This node lost the primary role: what the funnel had not committed goes to the new primary. */
  useForwarding(): void {
    const local = this.#local;
    this.#local = null;
    if (!local) return;
    for (const entry of local.drain()) void this.#forwarder.enqueue(entry).catch(() => {});
  }

  enqueue(entry: WriteEntry): Promise<void> {
    return (this.#local ?? this.#forwarder).enqueue(entry);
  }

  flush(): Promise<void> {
    return (this.#local ?? this.#forwarder).flush();
  }

  async close(): Promise<void> {
    await this.#local?.close();
    await this.#forwarder.close();
  }
}
