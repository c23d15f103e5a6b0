import { LiteFsLeadership } from '../cluster/litefs-leadership.ts';
import { StaticLeadership } from '../cluster/static-leadership.ts';
import type { Config } from '../config/load-config.ts';
import type { Leadership } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';

/** LiteFS decides who is primary when the node runs on it; without it this node alone is (embedded). */
export function defaultLeadership(config: Config, logger: Logger, fetch?: typeof globalThis.fetch): Leadership {
  return config.litefsUrl
    ? new LiteFsLeadership({ url: config.litefsUrl, hostname: config.nodeId, logger, ...(fetch ? { fetch } : {}) })
    : new StaticLeadership(config.nodeId);
}
