// Canary sweep: secret values must never show up in responses, logs or data files, in any encoding.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Hit, needlesFor, searchBuffer, searchDir, SseClient } from '../helpers/kit.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { ephemeralAddrs, headersText, randomCanary, type HttpResult } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function bigCanary(bytes: number): string {
  const head = 'cnry:big/';
  return head + randomBytes(bytes).toString('base64url').slice(0, bytes - head.length);
}

describe('canary search self-check', () => {
  const samples = [randomCanary('self'), `cnrü-ñ-日本語-😀-${randomBytes(10).toString('hex')}`, `cnry"q\\${randomBytes(8).toString('hex')}`, bigCanary(60 * 1024)];
  const plantings: [string, (c: string) => Buffer][] = [
    ['raw', (c) => Buffer.from(c)],
    ['base64 +0', (c) => Buffer.from(Buffer.from(c).toString('base64'))],
    ['base64 +1', (c) => Buffer.from(Buffer.concat([randomBytes(1), Buffer.from(c)]).toString('base64'))],
    ['base64 +2', (c) => Buffer.from(Buffer.concat([randomBytes(2), Buffer.from(c), randomBytes(5)]).toString('base64'))],
    ['base64url +1', (c) => Buffer.from(Buffer.concat([randomBytes(1), Buffer.from(c)]).toString('base64url'))],
    ['hex', (c) => Buffer.from(`00ff${Buffer.from(c).toString('hex')}ab`)],
    ['HEX', (c) => Buffer.from(Buffer.from(c).toString('hex').toUpperCase())],
    ['percent', (c) => Buffer.from(`x=${encodeURIComponent(c)}&y`)],
    ['percent lower', (c) => Buffer.from(encodeURIComponent(c).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()))],
    ['json', (c) => Buffer.from(JSON.stringify({ v: c }))],
    ['utf16le', (c) => Buffer.concat([randomBytes(3), Buffer.from(c, 'utf16le')])],
  ];
  const dir = tempDir('vg-canary-self-');
  dirs.push(dir);

  for (const [name, plant] of plantings) {
    it(`finds a canary planted as ${name}`, () => {
      for (const [i, canary] of samples.entries()) {
        const file = join(dir, `${name.replace(/\W/g, '_')}-${i}.bin`);
        writeFileSync(file, Buffer.concat([randomBytes(37), plant(canary), randomBytes(11)]));
        const hits = searchDir(dir, needlesFor(canary)).filter((h) => h.where === file);
        expect(hits.length, `${name} of canary #${i} not found`).toBeGreaterThan(0);
        rmSync(file);
      }
    });
  }

  it('finds nothing in unrelated bytes', () => {
    writeFileSync(join(dir, 'noise.bin'), randomBytes(256 * 1024));
    expect(searchDir(dir, samples.flatMap(needlesFor))).toEqual([]);
  });
});

describe('canary sweep over a real server', () => {
  it('no stored, rotated or rejected value leaks into responses, logs or data files', async () => {
    const dataDir = tempDir('vg-canary-');
    dirs.push(dataDir);
    const srv: TestServer = await startTestServer({ dataDir, sseHeartbeatMs: 100, env: ephemeralAddrs });
    const seen: { where: string; res: HttpResult }[] = [];
    const call = async (where: string, method: string, path: string, o: Parameters<TestServer['call']>[2] = {}) => {
      const res = await srv.call(method, path, o);
      seen.push({ where: `${method} ${where}`, res });
      return res;
    };

    const c = {
      revealed: randomCanary('revealed'),
      ascii: randomCanary('ascii'),
      unicode: `cnrü-ñ-日本語-😀-${randomBytes(12).toString('hex')}`,
      big: bigCanary(60 * 1024),
      quoted: `cnry"q\\${randomBytes(12).toString('hex')}`,
      asciiV2: randomCanary('ascii-v2'),
      unicodeV2: `cnr€-v2-ü-${randomBytes(12).toString('hex')}-🔑`,
      bigV2: bigCanary(60 * 1024 - 7),
    };
    // Values that are only ever sent in rejected requests.
    const e = Object.fromEntries(
      ['unknownField', 'unknownFieldValue', 'malformed', 'wrongType', 'wrongTypeObj', 'tooLarge', 'bodyTooLarge', 'unauth', 'mismatch', 'duplicate', 'proto', 'badEnvKey', 'badDomain', 'mediaType', 'immutable', 'missingVault'].map(
        (k) => [k, randomCanary(k)],
      ),
    ) as Record<string, string>;

    const vault = await call('vault', 'POST', '/vaults', { body: { name: 'canaries' } });
    expect(vault.status).toBe(201);
    const v = vault.json.id as string;
    const ids: Record<string, string> = {};
    for (const [name, value] of Object.entries({ revealed: c.revealed, ascii: c.ascii, unicode: c.unicode, big: c.big, quoted: c.quoted })) {
      const res = await call(`create ${name}`, 'POST', `/vaults/${v}/secrets`, {
        body: { env_key: `CANARY_${name.toUpperCase()}`, value, revealable: name === 'revealed', allowed_domains: ['api.example.com'] },
      });
      expect(res.status, res.text).toBe(201);
      ids[name] = res.json.id;
    }
    // Rotations (new versions), a no-op PATCH with the same value, a metadata-only change.
    for (const [name, value] of [['ascii', c.asciiV2], ['unicode', c.unicodeV2], ['big', c.bigV2]] as const) {
      const res = await call(`rotate ${name}`, 'PATCH', `/secrets/${ids[name]}`, { body: { value } });
      expect(res.status, res.text).toBe(200);
      expect(res.json.version).toBe(2);
    }
    expect((await call('noop', 'PATCH', `/vaults/${v}/secrets/${ids.quoted}`, { body: { value: c.quoted } })).json.version).toBe(1);
    expect((await call('meta', 'PATCH', `/secrets/${ids.revealed}`, { body: { description: 'rotated metadata' } })).json.version).toBe(2);

    // The one allowed place: the reveal response (not swept).
    const reveal = await srv.call('POST', `/secrets/${ids.revealed}/reveal`);
    expect(reveal.status).toBe(200);
    expect(reveal.json.value).toBe(c.revealed);
    // Positive control: the sweep does see a value where one really is.
    expect(searchBuffer('reveal', reveal.text, needlesFor(c.revealed)).length).toBeGreaterThan(0);
    expect((await call('reveal denied', 'POST', `/secrets/${ids.ascii}/reveal`)).status).toBe(403);

    // Rejected requests that carry a value.
    const post = `/vaults/${v}/secrets`;
    const bad: [string, number, Parameters<TestServer['call']>[2], string?][] = [
      ['unknown field', 400, { body: { env_key: 'U1', value: e.unknownField, colour: 'blue' } }],
      ['unknown field value', 400, { body: { env_key: 'U2', value: 'x', bogus: e.unknownFieldValue } }],
      ['malformed json', 400, { raw: `{"env_key":"M1","value":"${e.malformed}"` }],
      ['wrong type array', 400, { body: { env_key: 'W1', value: [e.wrongType] } }],
      ['wrong type object', 400, { body: { env_key: 'W2', value: { nested: e.wrongTypeObj } } }],
      ['value too large', 400, { body: { env_key: 'T1', value: `${e.tooLarge}${'x'.repeat(70 * 1024)}` } }],
      ['body too large', 413, { body: { env_key: 'T2', value: `${e.bodyTooLarge}${'y'.repeat(1100 * 1024)}` } }],
      ['unauthenticated', 401, { body: { env_key: 'A1', value: e.unauth }, key: null }],
      ['duplicate key', 400, { raw: `{"env_key":"D1","value":"${e.duplicate}","value":"other"}` }],
      ['__proto__', 400, { raw: `{"env_key":"P1","value":"x","__proto__":{"value":"${e.proto}"}}` }],
      ['bad env_key', 400, { body: { env_key: '1-bad', value: e.badEnvKey } }],
      ['bad domain', 400, { body: { env_key: 'B1', value: e.badDomain, allowed_domains: ['*'] } }],
      ['media type', 0, { raw: JSON.stringify({ env_key: 'MT', value: e.mediaType }), headers: { 'content-type': 'text/plain' } }],
    ];
    for (const [name, status, opts] of bad) {
      const res = await call(name, 'POST', post, opts);
      if (status === 0) expect(res.status, `${name}: ${res.text}`).toBeGreaterThanOrEqual(400);
      else expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(res.status).toBeLessThan(500);
    }
    const patches: [string, number, string, Parameters<TestServer['call']>[2]][] = [
      ['version mismatch', 412, `/secrets/${ids.ascii}`, { body: { value: e.mismatch }, headers: { 'if-match': '"1"' } }],
      ['immutable labels', 400, `/secrets/${ids.ascii}`, { body: { value: e.immutable, labels: { a: 'b' } } }],
      ['missing secret', 404, `/secrets/sec_01KQ27AQH800XQTQPJZ0DH14SJ`, { body: { value: e.missingVault } }],
    ];
    for (const [name, status, path, opts] of patches) {
      const res = await call(name, 'PATCH', path, opts);
      expect(res.status, `${name}: ${res.text}`).toBe(status);
    }

    // Reads of everything that exists.
    expect((await call('list', 'GET', `/vaults/${v}/secrets?limit=2`)).headers.get('link')).toBeTruthy();
    await call('vaults', 'GET', '/vaults');
    for (const id of Object.values(ids)) {
      await call('get', 'GET', `/secrets/${id}`);
      await call('get nested', 'GET', `/vaults/${v}/secrets/${id}`);
      await call('versions', 'GET', `/secrets/${id}/versions`);
    }
    await call('audit', 'GET', '/audit?limit=1000');
    const verify = await call('verify', 'GET', '/audit/verify');
    expect(verify.json.ok).toBe(true);
    const sse = await SseClient.open(srv, '/audit/stream');
    await sse.until(() => sse.raw.includes(`id: ${verify.json.head_seq}\n`), 3000).finally(() => sse.close());
    expect(sse.raw).toContain(`id: ${verify.json.head_seq}\n`);
    seen.push({ where: 'GET sse', res: { status: 200, headers: sse.headers, text: sse.raw, json: undefined } });

    const stored = Object.values(c).filter((x) => x !== c.revealed);
    const needles = [...stored, c.revealed, ...Object.values(e)].flatMap(needlesFor);
    const adminNeedles = needlesFor(srv.apiKey);
    const sweep = (label: string): Hit[] => [
      ...seen.flatMap(({ where, res }) => [...searchBuffer(`${where} body`, res.text, [...needles, ...adminNeedles]), ...searchBuffer(`${where} headers`, headersText(res.headers), needles)]),
      ...searchBuffer(`log (${label})`, srv.logs.join(''), [...needles, ...adminNeedles]),
      ...searchDir(dataDir, needles),
    ];

    // While running: the WAL holds the recent writes.
    const wal = join(dataDir, 'vaultgate.db-wal');
    expect(existsSync(wal) && statSync(wal).size > 0).toBe(true);
    expect(sweep('running')).toEqual([]);

    await srv.close();
    expect(srv.logs.join('').length).toBeGreaterThan(1000); // the log really was captured
    expect(sweep('stopped')).toEqual([]);
  });
});
