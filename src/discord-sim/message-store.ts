import type { GatewayMessageCreateDispatchData } from 'discord-api-types/v10';

/** A message the world remembers, so that REST can edit, delete and react to it. */
export interface StoredMessage {
  readonly message: GatewayMessageCreateDispatchData;
  /** Emoji key (`name` or `name:id`) -> user ids who reacted with it. */
  readonly reactions: Map<string, Set<string>>;
}

/**
 * The most recent messages (the traffic's and the bot's own), oldest forgotten first: a bot
 * reacts to and edits recent messages; older ones answer Unknown Message as deleted ones do.
 */
export class MessageStore {
  readonly #messages = new Map<string, StoredMessage>();
  readonly #capacity: number;

  constructor(capacity = 20_000) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#messages.size;
  }

  remember(message: GatewayMessageCreateDispatchData): void {
    this.#messages.set(message.id, { message, reactions: new Map() });
    if (this.#messages.size > this.#capacity) {
      const oldest = this.#messages.keys().next().value;
      if (oldest !== undefined) this.#messages.delete(oldest);
    }
  }

  /** The message if it exists in that channel. */
  get(channelId: string, messageId: string): StoredMessage | undefined {
    const stored = this.#messages.get(messageId);
    return stored && stored.message.channel_id === channelId ? stored : undefined;
  }

  delete(messageId: string): void {
    this.#messages.delete(messageId);
  }
}
