import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { AgentTokenRow, ApiKeyRow, AuditDraft } from '../storage/types.js';
import { agentTokenPrefix, apiKeyPrefix, createCredentials, hashToken, mintToken } from './credentials.js';

describe('hashToken', () => {
  it('is the hex SHA-256 of the UTF-8 token (what stores written by earlier versions hold)', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // Vectors from `printf %s TOKEN | sha256sum`, not from node:crypto.
    expect(hashToken('vgat_' + 'A'.repeat(43))).toBe('2d6129dc6e06546113dd6abab83101812039ca117ed1cfe7528657c7783d7b36');
    expect(hashToken('vgk_é')).toBe('bb58c5f87a2cafdfa771ea6a0ed065b411172474a5aa249d4d4449bb9051f4b3');
  });
});

describe('mintToken', () => {
  it('is the prefix and 32 bytes of the injected randomness in base64url', () => {
    const random = vi.fn((n: number) => Buffer.alloc(n, 0xfb));
    const token = mintToken(apiKeyPrefix, random);
    expect(random).toHaveBeenCalledWith(32);
    expect(token).toBe(apiKeyPrefix + Buffer.alloc(32, 0xfb).toString('base64url'));
    expect(token).toMatch(/^vgk_[A-Za-z0-9_-]{43}$/);
  });

  it('with real randomness, two mints differ', () => {
    expect(mintToken(agentTokenPrefix, randomBytes)).not.toBe(mintToken(agentTokenPrefix, randomBytes));
  });
});

describe('authenticateBearer', () => {
  const origin = { requestId: 'req_1', sourceIp: '192.0.2.1' };
  const at = '2026-02-03T04:05:06.000Z';
  const apiKey = 'vgk_known';
  const agentToken = 'vgat_known';
  const keyRow = (revoked: string | null): ApiKeyRow => ({ id: 'key_1', org_id: 'org_1', name: null, hash: hashToken(apiKey), created_at: '', revoked_at: revoked });
  const tokenRow = (revoked: string | null): AgentTokenRow => ({ id: 'atk_1', org_id: 'org_1', agent_id: 'agt_1', hash: hashToken(agentToken), created_at: '', revoked_at: revoked });

  function credentials(revoked: string | null) {
    const recorded: AuditDraft[] = [];
    const store = {
      findApiKeyByHash: vi.fn(async (hash: string) => (hash === hashToken(apiKey) ? keyRow(revoked) : null)),
      findAgentTokenByHash: vi.fn(async (hash: string) => (hash === hashToken(agentToken) ? tokenRow(revoked) : null)),
    };
    const authFailures = { record: vi.fn(async (d: AuditDraft) => void recorded.push(d)), flush: async () => undefined, close: async () => undefined };
    let n = 0;
    const deps = { ids: () => `evt_${++n}`, clock: { now: () => new Date(at) }, random: randomBytes };
    return { c: createCredentials({ ...deps, store, authFailures }), store, recorded };
  }

  it('an API key stands for its org, acting as the key', async () => {
    const { c } = credentials(null);
    expect(await c.authenticateBearer('api_key', apiKey, origin)).toEqual({ orgId: 'org_1', actor: 'key_1', ...origin });
  });

  it('an agent token stands for its agent', async () => {
    const { c } = credentials(null);
    expect(await c.authenticateBearer('agent_token', agentToken, origin)).toEqual({ orgId: 'org_1', actor: 'agt_1', agentId: 'agt_1', tokenId: 'atk_1', ...origin });
  });

  it('each kind is looked up only where it is kept: an agent token is no API key, and the reverse', async () => {
    const { c, recorded } = credentials(null);
    expect(await c.authenticateBearer('api_key', agentToken, origin)).toBeNull();
    expect(await c.authenticateBearer('agent_token', apiKey, origin)).toBeNull();
    expect(await c.authenticateBearer('api_key', 'vgk_unknown', origin)).toBeNull();
    expect(recorded).toEqual([]);
  });

  it('a revoked credential fails, and the attempt goes into its org chain as auth.failed (the records earlier versions wrote)', async () => {
    const { c, recorded } = credentials('2026-01-01T00:00:00.000Z');
    expect(await c.authenticateBearer('api_key', apiKey, origin)).toBeNull();
    expect(await c.authenticateBearer('agent_token', agentToken, origin)).toBeNull();
    const common = { type: 'auth.failed', time: at, org_id: 'org_1', vault_id: null, secret_id: null, request_id: 'req_1', source_ip: '192.0.2.1', outcome: 'denied', details: {} };
    expect(recorded).toEqual([
      { ...common, id: 'evt_1', actor: 'key_1', agent_id: null, target_id: 'key_1', reason: 'api key revoked' },
      { ...common, id: 'evt_2', actor: 'agt_1', agent_id: 'agt_1', target_id: 'atk_1', reason: 'agent token revoked' },
    ]);
  });
});
