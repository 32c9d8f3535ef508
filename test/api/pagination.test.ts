// Black-box tests of cursor pagination on list endpoints: Link headers, limits, bad cursors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allEvents, createSecret, createVault, expectJson, invalid, walkPages } from './helpers.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
});
afterEach(async () => {
  await s.close();
});

const linkPattern = (path: string) => new RegExp(`^<${path.replace(/[?]/g, '\\?')}&cursor=([A-Za-z0-9_-]+)>; rel="next"$`);

describe('GET /vaults pagination', () => {
  it('?limit=2 pages through 5 vaults in creation order, exactly once, last page without Link', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createVault(s, `v${i}`));
    const first = await s.call('GET', '/vaults?limit=2');
    expectJson(first, 200, created.slice(0, 2));
    expect(first.headers.get('link')).toMatch(linkPattern('/api/public/v1/vaults?limit=2'));

    const { pages, links } = await walkPages(s, '/vaults?limit=2');
    expect(pages).toEqual([created.slice(0, 2), created.slice(2, 4), created.slice(4)]);
    expect(links.map((l) => l !== null)).toEqual([true, true, false]);
    for (const link of links.slice(0, 2)) expect(link).toMatch(linkPattern('/api/public/v1/vaults?limit=2'));
  });

  it('gives no Link when the page holds exactly what remains', async () => {
    for (let i = 0; i < 4; i++) await createVault(s, `v${i}`);
    const { pages, links } = await walkPages(s, '/vaults?limit=2');
    expect(pages.map((p) => p.length)).toEqual([2, 2]);
    expect(links[1]).toBeNull();
    expect((await s.call('GET', '/vaults?limit=4')).headers.get('link')).toBeNull();
  });

  it('defaults to 100 per page', async () => {
    for (let i = 0; i < 101; i++) await createVault(s, `v${String(i).padStart(3, '0')}`);
    const { pages } = await walkPages(s, '/vaults');
    expect(pages.map((p) => p.length)).toEqual([100, 1]);
    expect(pages.flat().map((v) => v.name)).toEqual(Array.from({ length: 101 }, (_, i) => `v${String(i).padStart(3, '0')}`));
  });

  it.each([
    ['limit=0', 'limit must be >= 1'],
    ['limit=1001', 'limit must be <= 1000'],
    ['limit=-1', 'limit must be >= 1'],
    ['limit=abc', 'limit must be of type integer'],
    ['limit=1.5', 'limit must be of type integer'],
    ['cursor=garbage', 'cursor is invalid'],
    [`cursor=${Buffer.from('not-an-id').toString('base64url')}`, 'cursor is invalid'],
    [`cursor=${'A'.repeat(300)}`, 'cursor is invalid'],
  ])('refuses ?%s with 400', async (query, message) => {
    await createVault(s, 'x');
    const res = await s.call('GET', `/vaults?${query}`);
    expectJson(res, 400, invalid(message));
  });

  it('accepts limit=1000', async () => {
    const v = await createVault(s, 'x');
    expectJson(await s.call('GET', '/vaults?limit=1000'), 200, [v]);
  });
});

describe('GET /vaults/{id}/secrets pagination', () => {
  it('pages through 5 secrets, keeping the label filter in the Link', async () => {
    const v = await createVault(s, 'v');
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createSecret(s, v.id, { env_key: `K${i}`, labels: { env: 'prod' } }));
    await createSecret(s, v.id, { env_key: 'DEV', labels: { env: 'dev' } });

    const { pages, links } = await walkPages(s, `/vaults/${v.id}/secrets?limit=2&label=env%3Aprod`);
    expect(pages).toEqual([created.slice(0, 2), created.slice(2, 4), created.slice(4)]);
    expect(links[2]).toBeNull();
    expect(links[0]).toMatch(new RegExp(`^</api/public/v1/vaults/${v.id}/secrets\\?limit=2&label=env%3Aprod&cursor=[A-Za-z0-9_-]+>; rel="next"$`));
  });

  it('refuses bad limits and cursors', async () => {
    const v = await createVault(s, 'v');
    expectJson(await s.call('GET', `/vaults/${v.id}/secrets?limit=0`), 400, invalid('limit must be >= 1'));
    expectJson(await s.call('GET', `/vaults/${v.id}/secrets?limit=1001`), 400, invalid('limit must be <= 1000'));
    expectJson(await s.call('GET', `/vaults/${v.id}/secrets?cursor=garbage`), 400, invalid('cursor is invalid'));
  });
});

describe('GET /audit pagination', () => {
  it('pages with after=<seq>, every event exactly once, last page without Link', async () => {
    for (let i = 0; i < 3; i++) await createVault(s, `v${i}`);
    const all = await allEvents(s);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const first = await s.call('GET', '/audit?limit=2');
    expect(first.headers.get('link')).toBe('</api/public/v1/audit?limit=2&after=2>; rel="next"');
    const { pages, links } = await walkPages(s, '/audit?limit=2');
    expect(pages).toEqual([all.slice(0, 2), all.slice(2, 4), all.slice(4)]);
    expect(links).toEqual(['</api/public/v1/audit?limit=2&after=2>; rel="next"', '</api/public/v1/audit?limit=2&after=4>; rel="next"', null]);
  });

  it('gives no Link when the page holds exactly what remains', async () => {
    await createVault(s, 'v');
    await createVault(s, 'w');
    const res = await s.call('GET', '/audit?limit=4');
    expect(res.json.map((e: any) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(res.headers.get('link')).toBeNull();
  });

  it('refuses bad limits', async () => {
    expectJson(await s.call('GET', '/audit?limit=0'), 400, invalid('limit must be >= 1'));
    expectJson(await s.call('GET', '/audit?limit=1001'), 400, invalid('limit must be <= 1000'));
    expectJson(await s.call('GET', '/audit?after=-1'), 400, invalid('after must be >= 0'));
  });
});
