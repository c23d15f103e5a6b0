import { ShardlineError } from '../core/errors.ts';
import { planPlacement } from '../core/placement.ts';
import type { Logger } from '../core/ports.ts';
import { budgetProblem, recommendedCountDue, resolveTarget, switchGroups, type SwitchGroup } from '../core/reshard-plan.ts';
import { resumableSessions } from '../store/queries.ts';
import type { HeartbeatRequest } from './cluster-protocol.ts';
import { identifiesOf, readAssignments, type AssignmentRow } from './cluster-tables.ts';
import { commitAbort, commitPlacement, commitPromotion, commitStart, commitSwitch } from './reshard-commits.ts';
import type { ReshardCommands } from './reshard-protocol.ts';
import type { GatewayFigures, Pending, ReshardStarted, ResharderOptions, ShardReport, StartReshard } from './resharder-types.ts';
import { readLiveSets, type ShardSetRow } from './shard-sets.ts';

export type { GatewayFigures, ReshardCoordinatorPort, ReshardSettings, ResharderDeps, ResharderOptions, ReshardStarted, StartReshard } from './resharder-types.ts';

/** A switched group's new shard still in shadow this long after its take-over was sent is sent one again. */
const TAKE_OVER_AGAIN_MS = 3_000;
/** A new set's shard closed with one of these cannot succeed: the reshard rolls back (before any switch). */
const FATAL_FOR_RESHARD = new Set([4004, 4010, 4011, 4013, 4014]);
const AUTO_RETRY_MS = 60_000;


/**
 * The reshard of contract 13, on the primary: starts a new shard set beside the active one,
 * places its shards over the nodes (they identify through the cluster's buckets and ledger and
 * hold their events back), switches the handlers group by group once a group's new shards are
 * ready and past their GUILD_CREATE burst, and promotes the new set when every group switched.
 * Its state lives in the tables (shard_sets, shard_assignments), so a new primary picks it up
 * where the old one left it.
 */
export class Resharder {
  readonly #o: ResharderOptions;
  readonly #log: Logger;
  #pending: Pending | null = null;
  #starting: Promise<unknown> | null = null;
  #busy = false;
  readonly #reports = new Map<string, ShardReport>();
  #lastCheck = 0;
  #lastAutoAttempt = Number.NEGATIVE_INFINITY;

  constructor(options: ResharderOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'resharder' });
  }

  get running(): boolean {
    return this.#pending !== null;
  }

  /** The new set's generation while a reshard runs. */
  get pendingGeneration(): number | null {
    return this.#pending?.generation ?? null;
  }

  /** On becoming primary: a reshard recorded by the previous primary goes on from where it was. */
  load(now: number): void {
    this.#pending = null;
    this.#reports.clear();
    this.#lastCheck = now;
    const { pending } = readLiveSets(this.#o.db);
    if (!pending) return;
    this.#pending = this.#fromRow(pending);
    this.#log.warn({ generation: pending.generation, to: pending.shardCount, switched: [...this.#pending.switched] }, 'a reshard was in progress when this node became primary: continuing it');
  }

  /** What the new set's shard last reported (in a heartbeat); undefined when nothing was heard. */
  report(generation: number, shardId: number): { status: string; caughtUp: boolean } | undefined {
    const report = this.#reports.get(`${generation}:${shardId}`);
    return report ? { status: report.status, caughtUp: report.caughtUp } : undefined;
  }

  /** Contract 5 for the new set's writes. */
  fence(shardId: number, epoch: number, generation: number): boolean {
    const pending = this.#pending;
    return pending !== null && pending.generation === generation && pending.rows.get(shardId)?.epoch === epoch;
  }

  /** Heartbeats say how both sets' shards are doing, and whether an active one died of 4011. */
  observe(request: HeartbeatRequest): void {
    const pending = this.#pending;
    for (const shard of request.shards) {
      const generation = shard.generation ?? this.#o.port.active().generation;
      if (pending && (generation === pending.generation || generation === pending.from.generation)) {
        this.#reports.set(`${generation}:${shard.shardId}`, {
          nodeId: request.nodeId,
          epoch: shard.epoch,
          status: shard.status,
          caughtUp: shard.caughtUp === true,
          closeCode: shard.closeCode ?? null,
          mode: shard.mode ?? null,
        });
      } else if (!pending && shard.closeCode === 4011 && this.#o.settings?.on4011 !== false) {
        this.#auto('4011', { shardId: shard.shardId, nodeId: request.nodeId });
      }
    }
  }

  /** Starts a reshard, or refuses with a clear error and changes nothing. */
  start(request: StartReshard): Promise<ReshardStarted> {
    if (!this.#o.port.running()) return Promise.reject(new ShardlineError('NOT_PRIMARY', 'Cannot reshard: this node\'s coordinator is not running'));
    const pending = this.#pending;
    if (pending) {
      return Promise.reject(new ShardlineError('CONFLICT', `Cannot reshard: a reshard to ${pending.shardCount} shards (generation ${pending.generation}) is running since ${new Date(pending.startedAt).toISOString()}, ${pending.switched.size} of ${pending.groups.length} groups switched`));
    }
    if (this.#starting) return Promise.reject(new ShardlineError('CONFLICT', 'Cannot reshard: another reshard is being started right now'));
    const starting = this.#start(request, false).finally(() => {
      if (this.#starting === starting) this.#starting = null;
    });
    this.#starting = starting;
    return starting;
  }

  async #start(request: StartReshard, mustGrow: boolean): Promise<ReshardStarted> {
    const { commands, gatewayBot } = this.#o;
    if (!commands) throw new ShardlineError('CONFLICT', 'Cannot reshard: this host was built without resharding');
    const active = this.#o.port.active();
    let figures: GatewayFigures | null = null;
    try {
      figures = gatewayBot ? await gatewayBot() : null;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'GET /gateway/bot failed; the reshard is checked against the last known budget');
    }
    const budget = this.#o.budget?.() ?? null;
    if (figures && budget) budget.update(figures.sessionStartLimit, this.#o.clock.now());
    const guilds = Number(this.#o.db.prepare('SELECT count(*) AS n FROM guilds').get()?.['n'] ?? 0);
    const decision = resolveTarget({
      current: active.shardCount,
      requested: request.shardCount,
      recommended: figures?.shards ?? null,
      guilds,
      shardMultiple: this.#o.settings?.shardMultiple ?? 1,
      mustGrow,
    });
    const what = `Cannot reshard from ${active.shardCount} to ${request.shardCount === 'auto' ? "'auto'" : request.shardCount} shards`;
    if (!decision.ok) throw new ShardlineError('INVALID_INPUT', `${what}: ${decision.reason}`, { details: { current: active.shardCount } });
    const target = decision.target;
    const snapshot = budget?.snapshot();
    if (snapshot) {
      const problem = budgetProblem({ remaining: snapshot.remaining, reserve: snapshot.reserve, resetAfterMs: Math.max(0, snapshot.resetAt - this.#o.clock.now()), need: target });
      if (problem) throw new ShardlineError('IDENTIFY_REFUSED', `${what}: ${problem}`, { details: { remaining: snapshot.remaining, reserve: snapshot.reserve, need: target } });
    }
    const started = await this.#o.exclusive((): ReshardStarted => {
      if (!this.#o.port.running()) throw new ShardlineError('NOT_PRIMARY', `${what}: this node stopped being the primary`);
      if (this.#pending || readLiveSets(this.#o.db).pending) throw new ShardlineError('CONFLICT', `${what}: another reshard started meanwhile`);
      const from = { generation: active.generation, shardCount: active.shardCount };
      const row = commitStart(this.#o.db, { from, to: target, trigger: request.trigger, now: this.#o.clock.now() });
      this.#pending = this.#fromRow(row);
      this.#reports.clear();
      return { generation: row.generation, from: active.shardCount, to: target, trigger: request.trigger, groups: this.#pending.groups.length };
    });
    this.#log.info(started, `resharding from ${started.from} to ${started.to} shards: the new set starts beside the old one`);
    this.tick(this.#o.clock.now());
    return started;
  }

  /** One step of the reshard at a time, from the coordinator's tick; errors are logged and the next tick retries. */
  tick(now: number): void {
    const pending = this.#pending;
    if (!pending) {
      this.#checkRecommended(now);
      return;
    }
    if (this.#busy || !this.#o.port.running()) return;
    this.#busy = true;
    void this.#step(pending)
      .catch((error: unknown) => this.#log.warn({ err: (error as Error).message }, 'reshard step failed; retrying'))
      .finally(() => {
        this.#busy = false;
      });
  }

  async #step(pending: Pending): Promise<void> {
    const commands = this.#o.commands;
    if (!commands) return;
    if (!pending.prepared) {
      await this.#prepare(pending, commands);
      pending.prepared = true;
    }
    const fatal = this.#fatal(pending);
    if (fatal && pending.switched.size === 0) {
      await this.#abort(pending, fatal);
      return;
    }
    await this.#place(pending, commands);
    await this.#takeOverAgain(pending, commands);
    for (const group of pending.groups) {
      if (pending.switched.has(group.index) || !this.#groupReady(pending, group)) continue;
      await this.#switch(pending, group, commands);
      return;
    }
    if (pending.switched.size === pending.groups.length) await this.#promote(pending);
  }

  /** Every alive node keeps the keys its handlers see from now on, so the switch knows what not to hand twice. */
  async #prepare(pending: Pending, commands: ReshardCommands): Promise<void> {
    const nodes = this.#o.port.placementNodes().filter((n) => n.alive);
    const results = await Promise.allSettled(nodes.map((n) => commands.prepare(n.id, { generation: pending.generation })));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.#log.warn({ nodeId: nodes[i]!.id, err: (r.reason as Error).message }, 'node did not confirm it tracks handled events; it starts from its replica');
    });
  }

  /** Places the new set's shards (and fails them over) like the coordinator does the active set's; no rebalancing until it is active. */
  async #place(pending: Pending, commands: ReshardCommands): Promise<void> {
    const owners = new Map<number, string | null>([...pending.rows].map(([id, row]) => [id, row.nodeId]));
    const moves = planPlacement({ shardCount: pending.shardCount, owners, nodes: this.#o.port.placementNodes() }).filter((m) => m.kind !== 'handoff');
    if (moves.length === 0) return;
    const rows = await this.#o.exclusive((): AssignmentRow[] => {
      if (this.#pending !== pending || !this.#o.port.running()) return [];
      const out = commitPlacement(this.#o.db, pending.generation, moves, (shardId) => pending.rows.get(shardId)?.epoch ?? 0, this.#o.clock.now());
      for (const row of out) pending.rows.set(row.shardId, row);
      return out;
    });
    if (rows.length === 0) return;
    this.#o.port.assignmentsChanged();
    const sessions = resumableSessions(this.#o.db, pending.shardCount, pending.generation);
    await Promise.allSettled(
      rows.map((row) =>
        commands.start(row.nodeId!, { generation: pending.generation, shardCount: pending.shardCount, shardId: row.shardId, epoch: row.epoch, resume: sessions.get(row.shardId) ?? null }).catch((error: unknown) => {
          this.#log.debug({ err: (error as Error).message, shardId: row.shardId, nodeId: row.nodeId }, 'start request for a new-set shard failed; the node reconciles from its replica');
        }),
      ),
    );
  }

  /**
   * A switched group whose new shard is still in shadow: the take-over never reached it (the
   * primary died between the switch and its commands), or the shard failed over after the
   * switch and started again in shadow. The ids the old set handled are still on the nodes.
   */
  async #takeOverAgain(pending: Pending, commands: ReshardCommands): Promise<void> {
    const now = this.#o.clock.now();
    for (const group of pending.groups) {
      if (!pending.switched.has(group.index) || now - (pending.tookOver.get(group.index) ?? 0) < TAKE_OVER_AGAIN_MS) continue;
      const waiting = group.newShards.filter((shardId) => {
        const row = pending.rows.get(shardId);
        const report = this.#reports.get(`${pending.generation}:${shardId}`);
        return row?.nodeId != null && report?.nodeId === row.nodeId && report.epoch === row.epoch && report.mode === 'shadow' && report.status === 'ready' && report.caughtUp;
      });
      if (waiting.length === 0) continue;
      this.#log.warn({ group: group.index, shards: waiting }, 'new shards of a switched group are still held back: sending their take-over again');
      const keys = await this.#handledKeys(commands, { generation: pending.from.generation, shards: group.oldShards.map((shardId) => ({ shardId, epoch: null })) });
      pending.tookOver.set(group.index, this.#o.clock.now());
      await this.#sendTakeOvers(pending, waiting, [...keys], false, commands);
    }
  }

  /** Asks every alive node for the ids its runners of these old shards handled (and, with an epoch, to retire its own). */
  async #handledKeys(commands: ReshardCommands, request: { generation: number; shards: { shardId: number; epoch: number | null }[] }): Promise<Set<string>> {
    const keys = new Set<string>();
    const alive = this.#o.port.placementNodes().filter((n) => n.alive).map((n) => n.id);
    const answers = await Promise.allSettled(alive.map((nodeId) => commands.retire(nodeId, request)));
    for (const answer of answers) if (answer.status === 'fulfilled') for (const key of answer.value.keys) keys.add(key);
    return keys;
  }

  async #sendTakeOvers(pending: Pending, shardIds: readonly number[], skipKeys: string[], uncovered: boolean, commands: ReshardCommands): Promise<void> {
    await Promise.allSettled(
      shardIds.map((shardId) => {
        const row = pending.rows.get(shardId)!;
        return commands.takeOver(row.nodeId!, { generation: pending.generation, shardId, epoch: row.epoch, skipKeys, uncovered }).catch((error: unknown) => {
          this.#log.warn({ err: (error as Error).message, shardId, nodeId: row.nodeId }, 'new shard did not confirm its take-over; it is sent again, or its node takes over from its replica');
        });
      }),
    );
  }

  /**
   * A group switches once its new shards are ready and past their burst, and each old shard is
   * either running (ready) where it is assigned or failed for good. An old shard that is not
   * running (handed off and not resumed yet, or its node dead and not failed over yet) holds a
   * session with events no new shard may have seen: the switch waits until it resumed them.
   */
  #groupReady(pending: Pending, group: SwitchGroup): boolean {
    const fresh = group.newShards.every((shardId) => {
      const row = pending.rows.get(shardId);
      const report = this.#reports.get(`${pending.generation}:${shardId}`);
      return row?.nodeId != null && report !== undefined && report.nodeId === row.nodeId && report.epoch === row.epoch && report.status === 'ready' && report.caughtUp;
    });
    if (!fresh) return false;
    const rows = this.#o.port.activeRows();
    return group.oldShards.every((shardId) => {
      const row = rows.get(shardId);
      const report = this.#reports.get(`${pending.from.generation}:${shardId}`);
      if (row?.state === 'retired') return true;
      if (report === undefined || row?.nodeId == null || report.nodeId !== row.nodeId || report.epoch !== row.epoch) return false;
      return report.status === 'ready' || (report.status === 'failed' && report.closeCode !== null);
    });
  }

  #fatal(pending: Pending): string | null {
    for (const [key, report] of this.#reports) {
      if (key.startsWith(`${pending.generation}:`) && report.closeCode !== null && FATAL_FOR_RESHARD.has(report.closeCode)) {
        return `new shard ${key.split(':')[1]} was closed by Discord with ${report.closeCode}`;
      }
    }
    return null;
  }

  /**
   * One group's switch: the old shards stop (their owners answer the ids their handlers saw),
   * their rows are retired, and the new shards take over from what they held back.
   */
  async #switch(pending: Pending, group: SwitchGroup, commands: ReshardCommands): Promise<void> {
    const port = this.#o.port;
    if (group.oldShards.some((id) => port.isMoving(id))) return;
    port.hold(group.oldShards, true);
    const started = this.#o.clock.now();
    try {
      const active = port.active();
      const rows = port.activeRows();
      const alive = port.placementNodes().filter((n) => n.alive).map((n) => n.id);
      const uncovered = new Set<number>();
      for (const shardId of group.oldShards) {
        const owner = rows.get(shardId)?.nodeId ?? null;
        if (owner === null || ['dead', 'left', 'unknown'].includes(port.nodeStatus(owner))) uncovered.add(shardId);
      }
      const keys = new Set<string>();
      const answers = await Promise.allSettled(
        alive.map((nodeId) =>
          commands.retire(nodeId, {
            generation: active.generation,
            shards: group.oldShards.map((shardId) => ({ shardId, epoch: rows.get(shardId)?.nodeId === nodeId ? rows.get(shardId)!.epoch : null })),
          }),
        ),
      );
      answers.forEach((answer, i) => {
        const nodeId = alive[i]!;
        if (answer.status === 'rejected') {
          this.#log.warn({ nodeId, err: (answer.reason as Error).message, group: group.index }, 'node did not answer the retire of its old shards; ids it handled may reach the handlers twice');
          for (const shardId of group.oldShards) if (rows.get(shardId)?.nodeId === nodeId) uncovered.add(shardId);
          return;
        }
        for (const key of answer.value.keys) keys.add(key);
        for (const shardId of answer.value.uncovered) uncovered.add(shardId);
      });
      const retiredRows = await this.#o.exclusive((): AssignmentRow[] => {
        if (this.#pending !== pending || !port.running()) throw new ShardlineError('NOT_PRIMARY', `Switch of group ${group.index} abandoned: this node stopped being the primary`);
        const now = this.#o.clock.now();
        const out = group.oldShards.map((shardId): AssignmentRow => ({ generation: active.generation, shardId, nodeId: null, epoch: (rows.get(shardId)?.epoch ?? 0) + 1, state: 'retired', updatedAt: now }));
        const switched = [...pending.switched, group.index].sort((a, b) => a - b);
        commitSwitch(this.#o.db, {
          generation: pending.generation,
          retired: out,
          detail: this.#detail(pending, { switched }),
          event: { group: group.index, old: group.oldShards, new: group.newShards, handledIds: keys.size, uncovered: [...uncovered] },
          now,
        });
        pending.switched.add(group.index);
        return out;
      });
      port.retired(retiredRows);
      pending.tookOver.set(group.index, this.#o.clock.now());
      await this.#sendTakeOvers(pending, group.newShards, [...keys], uncovered.size > 0, commands);
      this.#log.info({ group: group.index, old: group.oldShards, new: group.newShards, handledIds: keys.size, uncovered: [...uncovered], tookMs: this.#o.clock.now() - started }, `switched group ${group.index + 1} of ${pending.groups.length} to the new shard set`);
    } finally {
      port.hold(group.oldShards, false);
    }
  }

  async #promote(pending: Pending): Promise<void> {
    const port = this.#o.port;
    const identifies = identifiesOf(this.#o.db, pending.generation);
    const rows = await this.#o.exclusive(() => {
      if (this.#pending !== pending || !port.running()) return null;
      const now = this.#o.clock.now();
      commitPromotion(this.#o.db, {
        from: pending.from,
        generation: pending.generation,
        shardCount: pending.shardCount,
        detail: this.#detail(pending, { finishedAt: now, identifies }),
        tookMs: now - pending.startedAt,
        identifies,
        now,
      });
      return readAssignments(this.#o.db, pending.generation);
    });
    if (!rows) return;
    this.#pending = null;
    this.#reports.clear();
    port.promote(pending.generation, pending.shardCount, rows);
    this.#log.info({ generation: pending.generation, from: pending.from.shardCount, to: pending.shardCount, tookMs: this.#o.clock.now() - pending.startedAt, identifies }, `reshard done: the bot runs ${pending.shardCount} shards`);
  }

  /** Rolls back a reshard no group of which switched yet: the new set goes, the old one never stopped. */
  async #abort(pending: Pending, reason: string): Promise<void> {
    await this.#o.exclusive(() => {
      if (this.#pending !== pending) return;
      const now = this.#o.clock.now();
      commitAbort(this.#o.db, { generation: pending.generation, to: pending.shardCount, detail: this.#detail(pending, { finishedAt: now, reason }), reason, now });
      this.#pending = null;
      this.#reports.clear();
    });
    this.#o.port.assignmentsChanged();
    this.#log.error({ generation: pending.generation, reason }, `reshard to ${pending.shardCount} shards rolled back: ${reason}`);
  }

  #checkRecommended(now: number): void {
    const settings = this.#o.settings ?? {};
    const checkMs = settings.checkMs ?? 3_600_000;
    if (checkMs <= 0 || now - this.#lastCheck < checkMs || !this.#o.gatewayBot || this.#starting) return;
    this.#lastCheck = now;
    void this.#o.gatewayBot().then(
      (figures) => {
        const current = this.#o.port.active().shardCount;
        if (recommendedCountDue({ current, recommended: figures.shards, threshold: settings.threshold ?? 2 })) this.#auto('recommended', { recommended: figures.shards, current });
      },
      (error: unknown) => this.#log.debug({ err: (error as Error).message }, 'could not read the recommended shard count'),
    );
  }

  /** An automatic reshard ('auto' target); refusals are logged, and retried a minute later at the soonest. */
  #auto(trigger: '4011' | 'recommended', why: Record<string, unknown>): void {
    const now = this.#o.clock.now();
    if (this.#pending || this.#starting || now - this.#lastAutoAttempt < AUTO_RETRY_MS) return;
    this.#lastAutoAttempt = now;
    this.#log.warn({ trigger, ...why }, trigger === '4011' ? 'Discord closed a shard with 4011 (sharding required): resharding' : 'the recommended shard count passed the threshold: resharding');
    const starting = this.#start({ shardCount: 'auto', trigger }, trigger === '4011')
      .catch((error: unknown) => this.#log.error({ err: (error as Error).message, trigger }, 'automatic reshard refused'))
      .finally(() => {
        if (this.#starting === starting) this.#starting = null;
      });
    this.#starting = starting;
  }

  #fromRow(row: ShardSetRow): Pending {
    const from = row.detail.from ?? this.#o.port.active();
    return {
      generation: row.generation,
      shardCount: row.shardCount,
      from: { generation: from.generation, shardCount: from.shardCount },
      trigger: row.detail.trigger ?? 'unknown',
      startedAt: row.detail.startedAt ?? row.createdAt,
      groups: switchGroups(from.shardCount, row.shardCount),
      rows: readAssignments(this.#o.db, row.generation),
      switched: new Set(row.detail.switched ?? []),
      prepared: false,
      tookOver: new Map(),
    };
  }

  #detail(pending: Pending, extra: Partial<ShardSetRow['detail']>): ShardSetRow['detail'] {
    return { trigger: pending.trigger, from: pending.from, switched: [...pending.switched].sort((a, b) => a - b), startedAt: pending.startedAt, ...extra };
  }
}

