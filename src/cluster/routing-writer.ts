import type { WriteEntry, Writer } from '../core/mutation.ts';
import type { ForwardingWriter } from './forwarding-writer.ts';

/** The local funnel, while this node is primary; otherwise the forwarding writer. */
export interface LocalWriter extends Writer {
  /** The worker funnel's drain waits for its batch in flight, hence the promise. */
  drain(): WriteEntry[] | Promise<WriteEntry[]>;
}

/**
 * Contract 3 and 4 in one place: writes go to the primary's funnel when this node is the
 * primary, and are forwarded otherwise. On a role change the queued entries move across in
 * order, before anything newer, so a shard's writes never reorder.
 */
export class RoutingWriter implements Writer {
  readonly #forwarder: ForwardingWriter;
  #local: LocalWriter | null = null;
  /** While an asynchronous drain is handing entries over, newer ones wait behind it. */
  #handover: Promise<void> | null = null;

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

  /** This node lost the primary role: what the funnel had not committed (and `keep` keeps) goes to the new primary. */
  useForwarding(keep: (entry: WriteEntry) => boolean = () => true): void {
    const local = this.#local;
    this.#local = null;
    if (!local) return;
    const forward = (entries: WriteEntry[]): void => {
      for (const entry of entries) if (keep(entry)) void this.#forwarder.enqueue(entry).catch(() => {});
    };
    const drained = local.drain();
    if (Array.isArray(drained)) return forward(drained);
    const handover = drained.then(forward, () => {}).finally(() => {
      if (this.#handover === handover) this.#handover = null;
    });
    this.#handover = handover;
  }

  offer(entry: WriteEntry): boolean {
    if (this.#handover && !this.#local) return false;
    const writer: Writer = this.#local ?? this.#forwarder;
    return writer.offer?.(entry) ?? false;
  }

  enqueue(entry: WriteEntry): Promise<void> {
    if (this.#handover && !this.#local) return this.#handover.then(() => this.#forwarder.enqueue(entry));
    return (this.#local ?? this.#forwarder).enqueue(entry);
  }

  /** Everything written so far committed; after a role change, the entries still crossing over from the old funnel too. */
  flush(): Promise<void> {
    if (this.#handover && !this.#local) return this.#handover.then(() => this.#forwarder.flush());
    return (this.#local ?? this.#forwarder).flush();
  }

  async close(): Promise<void> {
    await this.#local?.close();
    await this.#forwarder.close();
  }
}
