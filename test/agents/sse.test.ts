// vault.read (SPEC §2, §4) on the SSE stream: vault.denied / vault.accessed delivered live, and Last-Event-ID resume
// losing and repeating nothing while denials continue.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep, SseClient } from '../helpers/kit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { agentWithToken, createSecret, createVault, eventsOf, grant, readSecret } from './helpers.js';

let s: TestServer;
const open: SseClient[] = [];
beforeEach(async () => {
  s = await startTestServer({ sseHeartbeatMs: 200 });
});
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await s.close();
});

async function stream(query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await SseClient.open(s, `/audit/stream${query}`, headers);
  open.push(c);
  expect(c.status).toBe(200);
  return c;
}

describe('vault.denied and vault.accessed on the audit stream', () => {
  it('a filtered stream delivers vault.denied live, as the same event GET /audit shows', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'OPENAI_API_KEY', 'sk-live');
    const { agent, token } = await agentWithToken(s, { name: 'researcher' });
    const c = await stream('?type=vault.denied');
    await sleep(100);
    expect(c.events()).toEqual([]);
    expect((await readSecret(s, token, 'OPENAI_API_KEY')).status).toBe(403);
    await c.until(() => c.events().length === 1);
    const [e] = c.events();
    expect(e).toMatchObject({ type: 'vault.denied', agent_id: agent.id, secret_id: sec.id, reason: 'no_access', outcome: 'denied' });
    expect(c.frames.find((f) => f.data !== undefined)).toMatchObject({ id: String(e.seq), event: 'vault.denied' });
    expect(await eventsOf(s, 'vault.denied')).toEqual([e]);
    expect(c.raw).not.toContain('sk-live');
  });

  it('the /v1/vault grant walk-through step by step (SPEC §5): denied, then granted, then read; both events arrive on an unfiltered stream', async () => {
    const v = await createVault(s, 'v');
    const sec = await createSecret(s, v.id, 'OPENAI_API_KEY', 'sk-xxxxxxxxxxxx');
    const { agent, token } = await agentWithToken(s, { name: 'researcher' });
    const c = await stream();
    expect((await readSecret(s, token, 'OPENAI_API_KEY')).status).toBe(403);
    await c.until(() => c.events().some((e) => e.type === 'vault.denied'));
    await grant(s, agent.id, sec.id);
    expect((await readSecret(s, token, 'OPENAI_API_KEY')).json).toEqual({ value: 'sk-xxxxxxxxxxxx' });
    await c.until(() => c.events().some((e) => e.type === 'vault.accessed'));
    const types = c.events().map((e) => e.type);
    expect(types.slice(types.indexOf('vault.denied'))).toEqual(['vault.denied', 'grant.created', 'vault.accessed']);
    expect(c.events().find((e) => e.type === 'vault.accessed')).toMatchObject({ agent_id: agent.id, secret_id: sec.id, details: { via: 'grant', delivery: 'vault.read' } });
    expect(c.raw).not.toContain('sk-xxxxxxxxxxxx');
  });

  it('reconnecting with Last-Event-ID resumes with nothing lost or repeated while denials continue', async () => {
    const { token } = await agentWithToken(s, { name: 'a' });
    const total = 30;
    let done = 0;
    const denials = (async () => {
      for (let i = 0; i < total; i++) {
        expect((await readSecret(s, token, `MISSING_${i}`)).status).toBe(403);
        done += 1;
        await sleep(15);
      }
    })();
    const first = await stream('?type=vault.denied');
    await first.until(() => first.events().length >= 5);
    first.close();
    const lastId = first.frames.filter((f) => f.id !== undefined).pop()?.id as string;
    const seen = first.events().filter((e) => e.seq <= Number(lastId));
    await sleep(80);
    const second = await stream('?type=vault.denied', { 'last-event-id': lastId });
    // Denials were audited while disconnected, and more follow after the reconnect.
    expect(done).toBeGreaterThan(seen.length);
    expect(done).toBeLessThan(total);
    await denials;
    await second.until(() => seen.length + second.events().length >= total);
    await sleep(100);
    const got = [...seen, ...second.events()];
    expect(got.map((e) => e.details.name)).toEqual(Array.from({ length: total }, (_, i) => `MISSING_${i}`));
    expect(new Set(got.map((e) => e.seq)).size).toBe(total);
    expect(got).toEqual(await eventsOf(s, 'vault.denied'));
  });
});
