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

const [certFile, keyFile] = process.argv.slice(2);
const body = Buffer.from(JSON.stringify({ id: 'ch_bench', object: 'charge', ok: true }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

let expected = null;
let stats;
const reset = () => (stats = { requests: 0, expected: 0, placeholder: 0, other: 0, tls_connections: 0 });
reset();
let open = 0;
let received = null; // per Host, when tracking (the soak scenario)

function track(req) {
  const host = String(req.headers.host ?? '').toLowerCase();
  const h = (received[host] ??= { requests: 0, body_bytes: 0, authorization: {} });
  h.requests++;
  const auth = req.headers.authorization ?? '';
  h.authorization[auth] = (h.authorization[auth] ?? 0) + 1;
  req.on('data', (d) => (h.body_bytes += d.length));
}

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), ALPNProtocols: ['http/1.1'] }, (req, res) => {
  stats.requests++;
  const auth = req.headers.authorization;
  if (expected !== null && auth === expected) stats.expected++;
  else if (auth?.includes('vgph_')) stats.placeholder++;
  else stats.other++;
  if (received) track(req);
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.on('secureConnection', (sock) => {
  stats.tls_connections++;
  open++;
  sock.setNoDelay(true);
  sock.once('close', () => open--);
});

process.on('message', (msg) => {
  if (msg?.cmd === 'expect') expected = msg.authorization;
  else if (msg?.cmd === 'reset') reset();
  else if (msg?.cmd === 'track') received = {};
  else if (msg?.cmd === 'received') return process.send({ id: msg.id, result: received ?? {} });
  else if (msg?.cmd === 'exit') return server.close(() => process.exit(0));
  process.send({ id: msg?.id, result: { ...stats, open_connections: open } });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'upstream listening', port: server.address().port })}\n`);
});
