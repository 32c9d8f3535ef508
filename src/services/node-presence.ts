// This node's heartbeat in the store: recorded once it listens, refreshed every 5 s, removed on close.
import { masterKeyRotated } from '../contract/errors.js';
import type { NodeStore } from '../storage/node-store.js';
import type { ServingNodeRow } from '../storage/types.js';
import type { Clock } from './context.js';

export const heartbeatIntervalMs = 5_000;
/** Older heartbeats belong to nodes that died without removing their row (SIGKILL, crash, power loss). */
export const staleAfterMs = 15_000;

export interface NodePresenceDeps {
  store: NodeStore;
  clock: Clock;
  node: { id: string; pid: number; hostname: string };
  /** The master key this node serves with: a rotated store refuses the node's row. */
  kekId: string;
  /** A refresh failed (the next one retries) or the master key was rotated underneath the node. */
  onError(err: unknown): void;
  intervalMs?: number;
}

export interface NodePresence {
  /** Stops refreshing and removes the row; never rejects (a row left behind goes stale). */
  stop(): Promise<void>;
}

export async function startNodePresence(deps: NodePresenceDeps): Promise<NodePresence> {
  const startedAt = deps.clock.now().toISOString();
  const row = (): ServingNodeRow => ({ ...deps.node, started_at: startedAt, heartbeat_at: deps.clock.now().toISOString() });
  if (!(await deps.store.recordServingNode(row(), deps.kekId))) throw masterKeyRotated();
  let beating: Promise<void> | null = null;
  let toldRotated = false;
  const beat = () =>
    deps.store.recordServingNode(row(), deps.kekId).then(
      (recorded) => {
        if (recorded || toldRotated) return;
        toldRotated = true;
        deps.onError(masterKeyRotated());
      },
      (err: unknown) => deps.onError(err),
    );
  const timer = setInterval(() => {
    beating ??= beat().finally(() => {
      beating = null;
    });
  }, deps.intervalMs ?? heartbeatIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await beating;
      await deps.store.removeServingNode(deps.node.id).catch((err: unknown) => deps.onError(err));
    },
  };
}

/** The earliest heartbeat that still counts as a serving node at `now`. */
export function liveSince(now: Date, staleAfter: number = staleAfterMs): string {
  return new Date(now.getTime() - staleAfter).toISOString();
}

export function servingNodeMessage(node: ServingNodeRow, now: Date): string {
  const ago = Math.max(0, Math.round((now.getTime() - Date.parse(node.heartbeat_at)) / 1000));
  return `a node is serving this store (pid ${node.pid} on ${node.hostname}, last seen ${ago}s ago): stop every node first`;
}
