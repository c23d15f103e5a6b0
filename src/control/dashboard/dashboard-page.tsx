import type { Child, FC } from 'hono/jsx';
import { raw } from 'hono/html';
import { DASHBOARD_CSS, DASHBOARD_SCRIPT } from './dashboard-assets.ts';
import { formatAge, type DashboardModel, type NodeView, type ShardView } from './dashboard-model.ts';
import type { RestView } from './dashboard-rest.ts';

const Layout: FC<{ title: string; nonce: string; children?: Child }> = ({ title, nonce, children }) => (
  <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>{title}</title>
        <style nonce={nonce}>{raw(DASHBOARD_CSS)}</style>
      </head>
      <body>{children}</body>
    </html>
  </>
);

/** The login form: the admin token is traded for an HttpOnly session cookie. */
export const LoginPage: FC<{ nodeId: string | null; nonce: string; error?: string }> = ({ nodeId, nonce, error }) => (
  <Layout title={`shardline${nodeId ? ` · ${nodeId}` : ''} · log in`} nonce={nonce}>
    <form class="login" method="post" action="/login">
      <h1>shardline</h1>
      <p>
        Dashboard of node <strong>{nodeId ?? 'unknown'}</strong>. Paste the admin token (<code>SHARDLINE_ADMIN_TOKEN</code>) to continue.
      </p>
      {error ? (
        <div class="note error" role="alert">
          {error}
        </div>
      ) : null}
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
      <button type="submit">Log in</button>
    </form>
  </Layout>
);

export const DisabledPage: FC<{ nodeId: string | null; nonce: string }> = ({ nodeId, nonce }) => (
  <Layout title="shardline · admin API disabled" nonce={nonce}>
    <div class="login" role="alert">
      <h1>Admin API disabled</h1>
      <p>
        <code>SHARDLINE_ADMIN_TOKEN</code> is not set on node <strong>{nodeId ?? 'unknown'}</strong>, so the admin API and this dashboard are off.
        Set it (16 characters or more) and restart the node.
      </p>
    </div>
  </Layout>
);

/** The whole page; `#live` is re-rendered by GET /dashboard/live every second. */
export const DashboardPage: FC<{ model: DashboardModel | null; nonce: string }> = ({ model, nonce }) => (
  <Layout title={model ? `shardline · ${model.self.id} (${model.self.role})` : 'shardline'} nonce={nonce}>
    <div id="live">
      <LivePanels model={model} />
    </div>
    <div id="notice" aria-live="polite"></div>
    <dialog id="action"></dialog>
    <script nonce={nonce}>{raw(DASHBOARD_SCRIPT)}</script>
  </Layout>
);

export const LivePanels: FC<{ model: DashboardModel | null }> = ({ model }) => {
  if (!model) {
    return (
      <main>
        <div class="note error" role="alert">
          This node did not answer a cluster status (it may be starting or stopping).
        </div>
      </main>
    );
  }
  const { self } = model;
  const primary = model.nodes.find((n) => n.isPrimary);
  const assigned = model.nodes.reduce((sum, n) => sum + n.shards.length, 0);
  const late = model.nodes.filter((n) => n.late);
  return (
    <>
      <header class="top">
        <h1>shardline</h1>
        <span class="who">
          viewing <strong>{self.id}</strong> <RoleBadge role={self.role} />
        </span>
        <span>
          primary: <strong>{self.primary ?? (self.role === 'primary' ? self.id : 'none known')}</strong>
        </span>
        <span class="spacer"></span>
        <span id="conn">live</span>
        {self.mode === 'cluster' ? (
          <button type="button" data-action="takeover" data-node={self.id} disabled={self.role === 'primary'} title={self.role === 'primary' ? 'This node is already the primary' : 'Make this node the primary'}>
            Take over
          </button>
        ) : null}
        <form method="post" action="/logout">
          <button type="submit">Log out</button>
        </form>
      </header>
      <main>
        <section class="summary" aria-label="summary">
          <Stat k="Primary" v={primary?.id ?? 'NONE'} s={primary ? `${self.mode} mode` : 'writes and moves wait for one'} bad={!primary} />
          <Stat k="Nodes" v={`${model.nodes.length - late.length}/${model.nodes.length} up`} s={late.length > 0 ? `late: ${late.map((n) => n.id).join(', ')}` : 'all heartbeats recent'} bad={late.length > 0} />
          <Stat k="Shards" v={`${assigned}/${model.shardCount}`} s={model.unassigned.length > 0 ? `${model.unassigned.length} unassigned` : 'all assigned'} bad={model.unassigned.length > 0} />
          <IdentifyStat model={model} />
          {model.eventLoop ? (
            <Stat
              k="Event loop"
              v={model.eventLoop.stalls === 0 ? 'never blocked' : `${model.eventLoop.stalls} stall${model.eventLoop.stalls === 1 ? '' : 's'}`}
              s={model.eventLoop.lastStallAgoMs === null ? 'on this node' : `longest ${model.eventLoop.maxStallMs} ms, last ${formatAge(model.eventLoop.lastStallAgoMs)} ago`}
              bad={model.eventLoop.recent}
            />
          ) : null}
          {model.funnel ? <Stat k="Write funnel" v={`${model.funnel.queuedRows} rows queued`} s={`${model.funnel.transactions} transactions`} bad={false} /> : null}
          {model.rest ? <RestStats rest={model.rest} /> : null}
        </section>
        {model.rest ? <RestPanel rest={model.rest} /> : null}
        <ReshardPanel model={model} />
        <h2>Nodes and their shards</h2>
        <section class="nodes" aria-label="shard map">
          {model.nodes.map((node) => (
            <NodeCard node={node} model={model} />
          ))}
          {model.unassigned.length > 0 ? (
            <div class="node late" data-node="">
              <div class="node-head">
                <h3>Unassigned</h3>
                <span class="badge b-bad">no node</span>
              </div>
              <ShardTable shards={model.unassigned} targets={[]} />
            </div>
          ) : null}
        </section>
        <h2>Cluster events</h2>
        <ol class="timeline" aria-label="cluster events">
          {model.events.length === 0 ? <li class="empty">No cluster events yet.</li> : null}
          {model.events.map((e) => (
            <li data-event={e.kind}>
              <span class="when">{new Date(e.at).toISOString().slice(11, 19)}</span>
              <span class="age">{formatAge(model.now - e.at)} ago</span>
              <span>
                <span class={`badge k-${e.kind}`}>{e.kind}</span>
              </span>
              <span>{e.text}</span>
            </li>
          ))}
        </ol>
        <p class="age">Times are UTC. This page reads node {self.id}'s replica of the cluster tables.</p>
      </main>
    </>
  );
};

/** The shard sets: the active one (with the reshard button), and a running reshard's new set, groups and spend. */
const ReshardPanel: FC<{ model: DashboardModel }> = ({ model }) => {
  const r = model.reshard;
  const running = r !== null && (r.phase === 'identifying' || r.phase === 'switching');
  const ready = r ? r.shards.filter((s) => s.status === 'ready' && s.caughtUp === true).length : 0;
  return (
    <section class="reshard" aria-label="shard sets">
      <h2>Shard sets</h2>
      <div class="node-meta">
        active set: <strong class="num">{model.shardCount}</strong> shards
        {r && r.phase === 'done' ? ` (generation ${r.generation}, from ${r.from.shardCount} ${formatAge(model.now - (r.finishedAt ?? r.startedAt))} ago, ${r.identifies} IDENTIFYs)` : ''}
        {r && r.phase === 'aborted' ? ` · the reshard to ${r.to} was rolled back: ${r.reason ?? '?'}` : ''}{' '}
        <button type="button" class="small" data-action="reshard" data-count={String(model.shardCount)} disabled={running} title={running ? 'A reshard is running' : 'Start a new shard set beside this one'}>
          reshard…
        </button>
      </div>
      {r && running ? (
        <div class="rows">
          <p>
            <span class="badge b-warn">{r.phase}</span> {r.from.shardCount} → {r.to} shards ({r.trigger}), started {formatAge(model.now - r.startedAt)} ago · new shards ready{' '}
            <strong class="num">
              {ready}/{r.to}
            </strong>{' '}
            · groups switched{' '}
            <strong class="num">
              {r.groups.filter((g) => g.switched).length}/{r.groups.length}
            </strong>{' '}
            · IDENTIFYs spent <strong class="num">{r.identifies}</strong>
          </p>
          <table>
            <thead>
              <tr>
                <th>group</th>
                <th>old shards</th>
                <th>new shards (node, state)</th>
                <th>handlers on</th>
              </tr>
            </thead>
            <tbody>
              {r.groups.map((g) => (
                <tr data-group={String(g.index)}>
                  <td class="num">{g.index}</td>
                  <td>{g.oldShards.join(', ')}</td>
                  <td>
                    {g.newShards.map((id) => {
                      const shard = r.shards[id];
                      const state = shard?.status ? (shard.caughtUp ? shard.status : `${shard.status}, burst`) : 'starting';
                      return <span class={`badge ${shard?.status === 'ready' && shard.caughtUp ? 'b-ok' : 'b-neutral'}`}>{`${id} ${shard?.nodeId ?? '—'} ${state}`}</span>;
                    })}
                  </td>
                  <td>{g.switched ? <span class="badge b-ok">new set</span> : <span class="badge b-neutral">old set</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
};

const RoleBadge: FC<{ role: string }> = ({ role }) => <span class={`badge ${role === 'primary' ? 'b-primary' : role === 'replica' ? 'b-replica' : 'b-bad'}`}>{role}</span>;

const Stat: FC<{ k: string; v: string; s: string; bad: boolean }> = ({ k, v, s, bad }) => (
  <div class="stat">
    <div class="k">{k}</div>
    <div class={`v${bad ? ' bad' : ''}`}>{bad ? <span class="badge b-bad">{v}</span> : v}</div>
    <div class="s">{s}</div>
  </div>
);

const IdentifyStat: FC<{ model: DashboardModel }> = ({ model }) => {
  const budget = model.identify;
  if (!budget) return <Stat k="Identify budget" v="on the primary" s="only the primary keeps it; open its dashboard" bad={false} />;
  const low = budget.remaining <= budget.reserve;
  return (
    <Stat
      k="Identify budget"
      v={`${budget.remaining}/${budget.total}`}
      s={`resets in ${formatAge(Math.max(0, budget.resetAt - model.now))} · ${budget.maxConcurrency} at once · ${budget.granted} granted`}
      bad={low}
    />
  );
};

const RestStats: FC<{ rest: RestView }> = ({ rest }) => {
  const limited = rest.rateLimited.global + rest.rateLimited.user + rest.rateLimited.shared + rest.rateLimited.sublimit;
  return (
    <>
      <Stat
        k="REST budget"
        v={`${rest.share}/${rest.limit} per s`}
        s={`this node's share (${rest.source}) · ${rest.sentLastWindow} in the last second · ${rest.waiting} waiting`}
        bad={rest.source === 'stopped' || rest.source === 'waiting-for-first-lease'}
      />
      <Stat
        k="Invalid requests"
        v={`${rest.invalid.cluster}/${rest.invalid.limit}`}
        s={`cluster, 10 min; throttles at ${rest.invalid.throttleAt}, stops at ${rest.invalid.stopAt} · ${limited} × 429 here (global ${rest.rateLimited.global})`}
        bad={rest.invalid.level !== 'ok' || rest.rateLimited.global > 0}
      />
    </>
  );
};

const RestPanel: FC<{ rest: RestView }> = ({ rest }) => (
  <>
    <h2>REST budget</h2>
    <table class="rest" aria-label="REST budget by node">
      <thead>
        <tr>
          <th>node</th>
          <th>share /s</th>
          <th>demand /s</th>
          <th>sent /s</th>
          <th>sent</th>
          <th>429s</th>
        </tr>
      </thead>
      <tbody>
        {rest.nodes.map((n) => (
          <tr data-node={n.id}>
            <td>{n.id}</td>
            <td class="num">{n.share}</td>
            <td class="num">{n.demand ?? '–'}</td>
            <td class="num">{n.sentPerSec ?? '–'}</td>
            <td class="num">{n.sent ?? '–'}</td>
            <td class="num">{n.rateLimited ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p class="age">
      {rest.fromPrimary ? "The primary's allocation of the token's global limit." : "Shares as this node's last lease from the primary carried them; the primary's dashboard shows demand and 429s."} Buckets split between
      nodes: {rest.buckets.contended}; spent by another node: {rest.buckets.blocked}. 429s here: global {rest.rateLimited.global}, user {rest.rateLimited.user}, shared {rest.rateLimited.shared}, sublimit{' '}
      {rest.rateLimited.sublimit}.
    </p>
  </>
);

const NodeCard: FC<{ node: NodeView; model: DashboardModel }> = ({ node, model }) => {
  const targets = model.nodes.filter((n) => n.id !== node.id && !n.draining && !n.late).map((n) => n.id);
  return (
    <div class={`node${node.isPrimary ? ' primary' : ''}${node.late ? ' late' : ''}`} data-node={node.id}>
      <div class="node-head">
        <h3>{node.id}</h3>
        {node.isPrimary ? <span class="badge b-primary">primary</span> : <span class="badge b-replica">replica</span>}
        {node.isSelf ? <span class="badge b-self">this node</span> : null}
        {node.draining ? <span class="badge b-drain">draining</span> : null}
        {node.late ? <span class="badge b-late">late {node.heartbeatAgeMs === null ? '' : formatAge(node.heartbeatAgeMs)}</span> : null}
        <span class="spacer"></span>
        {model.self.mode === 'cluster' ? (
          node.draining ? (
            <button type="button" class="small" data-action="undrain" data-node={node.id}>
              undrain
            </button>
          ) : (
            <button type="button" class="small danger" data-action="drain" data-node={node.id}>
              drain
            </button>
          )
        ) : null}
      </div>
      <div class="node-meta">
        heartbeat <strong class="num">{node.heartbeatAgeMs === null ? 'never' : `${formatAge(node.heartbeatAgeMs)} ago`}</strong>
        {' · '}
        <strong class="num">{node.shards.length}</strong> shard{node.shards.length === 1 ? '' : 's'}
        {node.version ? ` · v${node.version}` : ''}
        {node.url && !node.isSelf ? (
          <>
            {' · '}
            <a href={`${node.url}/`}>its dashboard</a>
          </>
        ) : null}
      </div>
      {node.shards.length === 0 ? <div class="empty">No shards.</div> : <ShardTable shards={node.shards} targets={model.self.mode === 'cluster' ? targets : null} />}
    </div>
  );
};

/** `targets` null: no move buttons (an embedded node has nowhere to move a shard to). */
const ShardTable: FC<{ shards: readonly ShardView[]; targets: readonly string[] | null }> = ({ shards, targets }) => (
  <div class="rows">
  <table>
    <thead>
      <tr>
        <th>shard</th>
        <th>state</th>
        <th>epoch</th>
        <th>last seq</th>
        <th>age</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      {shards.map((s) => (
        <tr data-shard={String(s.shardId)}>
          <td class="shard">{s.shardId}</td>
          <td>
            <span class={`badge ${stateClass(s.state)}`}>{s.state}</span>
          </td>
          <td class="num">{s.epoch ?? '—'}</td>
          <td class="num">{s.seq ?? '—'}</td>
          <td class="num age-cell" title={s.sessionAgeKind === 'last commit' ? 'age of the last committed seq (the session age is known on its node)' : 'time since READY or RESUMED'}>
            {s.sessionAgeMs === null ? '—' : s.sessionAgeKind === 'session' ? `up ${formatAge(s.sessionAgeMs)}` : `commit ${formatAge(s.sessionAgeMs)}`}
          </td>
          <td class="act">
            {s.nodeId && targets ? (
              <button type="button" class="small" data-action="move" data-shard={String(s.shardId)} data-from={s.nodeId} data-targets={targets.join(',')} disabled={targets.length === 0}>
                move
              </button>
            ) : null}
          </td>
        </tr>
      ))}
    </tbody>
  </table>
  </div>
);

function stateClass(state: string): string {
  if (state === 'ready' || state === 'running') return 'b-ok';
  if (state === 'failed' || state === 'stopped' || state === 'unassigned') return 'b-bad';
  if (state === 'assigned') return 'b-neutral';
  return 'b-warn';
}
