// The h2 scenario's upstream: one Node `http2.createSecureServer` with allowHTTP1, so the same port serves HTTP/2 and HTTP/1.1 and counts which one each request came over.
// Run as a child (pinned beside the load generator by startUpstream) with IPC:
//   argv: <cert file> <key file>
//   GET /v1/echo                      answers the Authorization it received (to see the proxy scrub the echo)
//   GET anything else                 a small JSON body
//   { cmd: 'expect', authorization }  the exact Authorization every request should carry
//   { cmd: 'reset' }                  zero the counters
//   { cmd: 'stats' }                  -> { requests, expected, placeholder, other, h2_requests, h1_requests,
//                                          tls_connections, h2_sessions, open_connections }
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { serveUpstream } from './upstream-child.mjs';

const [certFile, keyFile] = process.argv.slice(2);
const body = Buffer.from(JSON.stringify({ id: 'ch_bench', object: 'charge', ok: true }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

// The compatibility API serves both protocols through one handler, so HTTP/1.1 and HTTP/2 pay
// for the same request code here and differ only in the framing underneath.
const server = http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true }, (req, res) => {
  const stats = upstream.stats();
  if (req.httpVersion === '2.0') stats.h2_requests++;
  else if (req.httpVersion === '1.1') stats.h1_requests++;
  else stats.other_version++;
  const auth = req.headers.authorization;
  upstream.count(auth);
  req.resume();
  req.on('end', () => {
    if (req.url === '/v1/echo') {
      const echo = Buffer.from(JSON.stringify({ authorization: auth ?? null }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(echo.length) });
      return void res.end(echo);
    }
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.on('session', (session) => {
  upstream.stats().h2_sessions++;
  session.on('error', () => {});
});
server.on('sessionError', () => {});

const upstream = serveUpstream(server, 'h2 upstream', {
  counters: { h2_requests: 0, h1_requests: 0, other_version: 0, tls_connections: 0, h2_sessions: 0 },
  countConnections: true,
});
