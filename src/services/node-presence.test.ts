// Node presence: the row's lifecycle against a recording store, and the refusal's wording.
import { describe, expect, it } from 'vitest';
import type { NodeStore } from '../storage/node-store.js';
import type { ServingNodeRow } from '../storage/types.js';
import { liveSince, servingNodeMessage, startNodePresence } from './node-presence.js';

function recordingStore(accept: () => boolean) {
  const calls: string[] = [];
  const store: NodeStore = {
    async recordServingNode(node, kekId) {
      calls.push(`record ${node.id} ${node.heartbeat_at} ${kekId}`);
      return accept();
    },
    async removeServingNode(id) {
      calls.push(`remove ${id}`);
    },
    async listServingNodes() {
      return [];
    },
  };
  return { store, calls };
}

const node = { id: 'nod_1', pid: 7, hostname: 'h' };

describe('node presence', () => {
  it('records at start, refreshes on every tick, removes on stop and then stays quiet', async () => {
    let ms = Date.UTC(2026, 0, 1);
    const clock = { now: () => new Date(ms) };
    const { store, calls } = recordingStore(() => true);
    const errors: unknown[] = [];
    const presence = await startNodePresence({ store, clock, node, kekId: 'mk_1', intervalMs: 10, onError: (e) => errors.push(e) });
    ms += 5_000;
    await new Promise((r) => setTimeout(r, 35));
    await presence.stop();
    await new Promise((r) => setTimeout(r, 25));
    expect(calls[0]).toBe('record nod_1 2026-01-01T00:00:00.000Z mk_1');
    expect(calls.slice(1, -1).length).toBeGreaterThanOrEqual(1);
    for (const c of calls.slice(1, -1)) expect(c).toBe('record nod_1 2026-01-01T00:00:05.000Z mk_1');
    expect(calls.at(-1)).toBe('remove nod_1');
    expect(errors).toEqual([]);
  });

  it('refuses to start on a rotated keyring, and reports a later rotation once', async () => {
    await expect(startNodePresence({ store: recordingStore(() => false).store, clock: { now: () => new Date() }, node, kekId: 'mk_1', onError: () => undefined })).rejects.toMatchObject({
      code: 'unavailable',
      message: 'the master key was rotated: restart this node with the new key',
    });
    let accepted = true;
    const errors: unknown[] = [];
    const presence = await startNodePresence({ store: recordingStore(() => accepted).store, clock: { now: () => new Date() }, node, kekId: 'mk_1', intervalMs: 5, onError: (e) => errors.push(e) });
    accepted = false;
    await new Promise((r) => setTimeout(r, 40));
    await presence.stop();
    expect(errors).toHaveLength(1);
  });

  it('words the refusal with the freshest node and its age', () => {
    const now = new Date('2026-01-01T00:00:20.400Z');
    const row: ServingNodeRow = { ...node, started_at: '2026-01-01T00:00:00.000Z', heartbeat_at: '2026-01-01T00:00:17.000Z' };
    expect(servingNodeMessage(row, now)).toBe('a node is serving this store (pid 7 on h, last seen 3s ago): stop every node first');
    expect(servingNodeMessage({ ...row, heartbeat_at: '2026-01-01T00:00:21.000Z' }, now)).toMatch(/last seen 0s ago/);
    expect(liveSince(now)).toBe('2026-01-01T00:00:05.400Z');
  });
});
