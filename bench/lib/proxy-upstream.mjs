// The proxy scenario's upstream: a minimal Node https server answering a small JSON, which also
// checks what it received. Run as a child (pinned beside the load generator) with IPC:
//   argv: <cert file> <key file>
//   { cmd: 'expect', authorization }  the exact Authorization every request should carry
//   { cmd: 'reset' }                  zero the counters
//   { cmd: 'stats' }                  -> { requests, expected, placeholder, other, tls_connections, open_connections }
//   { cmd: 'track' }                  from now on also record, per Host, every Authorization and body bytes
//   { cmd: 'received' }               -> { [host]: { requests, body_bytes, authorization: { value: count } } }
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { serveUpstream } from './upstream-child.mjs';

const [certFile, keyFile] = process.argv.slice(2);
const body = Buffer.from(JSON.stringify({ id: 'ch_bench', object: 'charge', ok: true }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

let received = null; // per Host, when tracking (the soak scenario)

function track(req) {
  const host = String(req.headers.host ?? '').toLowerCase();
  const h = (received[host] ??= { requests: 0, body_bytes: 0, authorization: {} });
  h.requests++;
  const auth = req.headers.authorization ?? '';
  h.authorization[auth] = (h.authorization[auth] ?? 0) + 1;
  req.on('data', (d) => (h.body_bytes += d.length));
}

// The sign case's OAuth2 token endpoint (bench/lib/proxy-sign.mjs): one long-lived token, so that
// the measured requests use the cached one. Not counted: it is not a measured request.
const tokenAnswer = Buffer.from(JSON.stringify({ access_token: 'bench-oauth-access-token-4f1d2c9b7e6a5d3c', token_type: 'Bearer', expires_in: 3600 }));

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), ALPNProtocols: ['http/1.1'] }, (req, res) => {
  if (req.method === 'POST' && req.url === '/oauth/token') {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(tokenAnswer.length) }).end(tokenAnswer));
    return;
  }
  upstream.count(req.headers.authorization);
  if (received) track(req);
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});

const upstream = serveUpstream(server, 'upstream', {
  counters: { tls_connections: 0 },
  countConnections: true,
  commands: {
    track: () => void (received = {}),
    received: () => received ?? {},
  },
});
