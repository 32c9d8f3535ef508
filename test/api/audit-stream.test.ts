// Black-box tests of GET /audit/stream (SSE): frame format, live delivery, Last-Event-ID resume, heartbeats.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep, SseClient } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, createSecret, createVault, expectJson, invalid } from './helpers.js';

let s: TestServer;
const open: SseClient[] = [];
beforeEach(async () => {
  s = await startTestServer({ sseHeartbeatMs: 200 });
});
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await s.close();
});

async function stream(headers: Record<string, string> = {}, query = ''): Promise<SseClient> {
  const c = await SseClient.open(s, `/audit/stream${query}`, headers);
  open.push(c);
  return c;
}

const seqs = (c: SseClient) => c.events().map((e) => e.seq);

describe('GET /audit/stream', () => {
  it('sends each event as `id: <seq>\\nevent: <type>\\ndata: <one-line JSON>\\n\\n`, equal to GET /audit', async () => {
    const v = await createVault(s, 'v');
    await createSecret(s, v.id, { env_key: 'A' });
    const c = await stream();
    expect(c.status).toBe(200);
    expect(c.contentType).toBe('text/event-stream; charset=utf-8');
    await c.until(() => c.events().length >= 4);

    const all = await allEvents(s);
    expect(c.events()).toEqual(all);
    const body = c.raw.replace(/^retry: \d+\n\n/, '').replace(/: heartbeat\n\n/g, '');
    const frame = /^id: (\d+)\nevent: ([a-z_.]+)\ndata: ([^\n]+)\n\n/;
    let rest = body;
    for (const e of all) {
      const m = frame.exec(rest);
      expect(m, rest.slice(0, 200)).not.toBeNull();
      const [whole, id, type, data] = m as RegExpExecArray;
      expect([Number(id), type, JSON.parse(data as string)]).toEqual([e.seq, e.type, e]);
      rest = rest.slice(whole.length);
    }
    expect(rest).toBe('');
  });

  it('delivers new events live after a mutation', async () => {
    const c = await stream();
    await c.until(() => c.events().length === 2);
    const v = await createVault(s, 'live');
    await c.until(() => c.events().length === 3);
    const [event] = c.events().slice(2);
    expect([event.seq, event.type, event.vault_id]).toEqual([3, 'vault.created', v.id]);
    await s.call('PATCH', `/vaults/${v.id}`, { body: { name: 'live2' } });
    await c.until(() => c.events().length === 4);
    expect(c.events()[3].type).toBe('vault.updated');
    expect(c.events()).toEqual(await allEvents(s));
  });

  it('resumes after Last-Event-ID: 3 with seq 4 first', async () => {
    for (let i = 0; i < 4; i++) await createVault(s, `v${i}`);
    const c = await stream({ 'last-event-id': '3' });
    await c.until(() => c.events().length === 3);
    expect(seqs(c)).toEqual([4, 5, 6]);
    expect(c.frames.find((f) => f.id !== undefined)?.id).toBe('4');
    await createVault(s, 'later');
    await c.until(() => c.events().length === 4);
    expect(seqs(c)).toEqual([4, 5, 6, 7]);
  });

  it('loses and repeats nothing across a reconnect while mutations continue', async () => {
    let written = 0;
    const writes = (async () => {
      for (let i = 0; i < 40; i++) {
        await createVault(s, `w${i}`);
        written += 1;
        await sleep(5);
      }
    })();
    const first = await stream();
    await first.until(() => first.events().length >= 10);
    first.close();
    const lastId = first.frames.filter((f) => f.id !== undefined).pop()?.id as string;
    await sleep(50);
    const second = await stream({ 'last-event-id': lastId });
    // The reconnect happened mid-flow: events were committed while disconnected and after.
    expect(written).toBeGreaterThan(Number(lastId) - 2);
    expect(written).toBeLessThan(40);
    await writes;
    const total = 2 + 40;
    await second.until(() => second.events().length > 0 && second.events()[second.events().length - 1].seq === total);
    const got = [...seqs(first).filter((n) => n <= Number(lastId)), ...seqs(second)];
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect([...first.events().filter((e) => e.seq <= Number(lastId)), ...second.events()]).toEqual(await allEvents(s));
  });

  it('sends heartbeats while idle', async () => {
    const c = await stream();
    await c.until(() => c.frames.filter((f) => f.comment === 'heartbeat').length >= 2, 3000);
    expect(c.raw).toMatch(/^retry: \d+\n\n/);
  });

  it('honours the type filter, live too', async () => {
    const v = await createVault(s, 'f');
    const c = await stream({}, '?type=secret.*');
    await createSecret(s, v.id, { env_key: 'A' });
    await s.call('PATCH', `/vaults/${v.id}`, { body: { name: 'g' } });
    await createSecret(s, v.id, { env_key: 'B' });
    await c.until(() => c.events().length === 2);
    expect(c.events().map((e) => [e.type, e.details.env_key])).toEqual([
      ['secret.created', 'A'],
      ['secret.created', 'B'],
    ]);
  });

  it('refuses a Last-Event-ID that is not a seq', async () => {
    expectJson(await s.call('GET', '/audit/stream', { headers: { 'last-event-id': 'abc' } }), 400, invalid('Last-Event-ID must be an event seq'));
  });

  it('a stream open at shutdown does not keep the server from closing', async () => {
    const c = await stream();
    await c.until(() => c.events().length === 2);
    const started = Date.now();
    await s.close({ keepData: false });
    expect(Date.now() - started).toBeLessThan(3000);
    s = await startTestServer();
  });
});
