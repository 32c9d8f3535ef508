// The default token fetcher against a real HTTPS endpoint: what it sends, whom it trusts, its time and size bounds.
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenFetcher, TokenFetchError } from '../../src/proxy/token-fetch.js';
import { makePki, type Pki } from './helpers.js';

let pki: Pki;
let server: https.Server;
let port = 0;
const received: { method: string; headers: Record<string, unknown>; body: string }[] = [];
let respond: (res: ServerResponse) => void = (res) => res.end('{"access_token":"x"}');

const toLocal = ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
  o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as unknown as LookupFunction;

beforeAll(async () => {
  pki = await makePki();
  server = https.createServer({ key: pki.good.keyPem, cert: pki.good.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      respond(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const url = () => new URL(`https://api.x.com:${port}/token`);
const form = new URLSearchParams({ grant_type: 'client_credentials' });

describe('createTokenFetcher', () => {
  it('POSTs the form with the given headers and returns status and body', async () => {
    respond = (res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"access_token":"abc"}');
    const fetch = createTokenFetcher({ ca: [pki.ca.certPem], lookup: toLocal });
    const r = await fetch(url(), form, { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' });
    expect({ status: r.status, body: r.body.toString() }).toEqual({ status: 201, body: '{"access_token":"abc"}' });
    const last = received.at(-1)!;
    expect([last.method, last.body, last.headers.authorization, last.headers['content-length']]).toEqual(['POST', 'grant_type=client_credentials', 'Basic eDp5', '29']);
  });

  it('trusts only the system roots and the CA it is given', async () => {
    const fetch = createTokenFetcher({ lookup: toLocal });
    await expect(fetch(url(), form, {})).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('refuses plain http', async () => {
    await expect(createTokenFetcher()(new URL('http://api.x.com/token'), form, {})).rejects.toEqual(new TokenFetchError('EPROTOCOL', 'the token endpoint must be an https URL'));
  });

  it('gives up on an endpoint that does not answer in time', async () => {
    respond = () => undefined;
    const fetch = createTokenFetcher({ ca: [pki.ca.certPem], lookup: toLocal, timeoutMs: 300 });
    const started = Date.now();
    await expect(fetch(url(), form, {})).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops reading an answer larger than its limit, announced or streamed', async () => {
    const fetch = createTokenFetcher({ ca: [pki.ca.certPem], lookup: toLocal, maxBytes: 1024 });
    respond = (res) => res.end('x'.repeat(1025));
    await expect(fetch(url(), form, {})).rejects.toMatchObject({ code: 'ETOOLARGE' });
    respond = (res) => {
      res.writeHead(200);
      for (let i = 0; i < 8; i++) res.write('y'.repeat(256));
      res.end();
    };
    await expect(fetch(url(), form, {})).rejects.toMatchObject({ code: 'ETOOLARGE' });
    respond = (res) => res.end('z'.repeat(1024));
    expect((await fetch(url(), form, {})).body.length).toBe(1024);
  });
});
