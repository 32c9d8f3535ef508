// The sse scenario's upstream: an HTTPS server streaming Server-Sent Events, each stamped with the
// time it was written on the machine's monotonic clock (process.hrtime, the same clock in every
// process), so a client on this machine can tell how long each event took to reach it.
// Run as a child (pinned beside the client) with IPC:
//   argv: <cert file> <key file>
//   GET /v1/stream?events=N&interval_ms=M  N events: the first with the response head, then one every M ms
//   GET /v1/echo                           one event carrying the Authorization credential back (to see the proxy scrub it)
//   { cmd: 'expect', authorization }       the exact Authorization every request should carry
//   { cmd: 'reset' }                       zero the counters
//   { cmd: 'stats' }                       -> { requests, expected, placeholder, other, events_sent }
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { serveUpstream } from './upstream-child.mjs';

const [certFile, keyFile] = process.argv.slice(2);
// A chunk of model output as an LLM API streams it: small JSON, tens of bytes of text.
const TEXT = 'The quick brown fox jumps over the lazy dog, token by token.';
const HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

/** Writes event i stamped with the current monotonic time (taken just before the write). */
function writeEvent(res, i) {
  upstream.stats().events_sent++;
  res.write(`data: {"i":${i},"sent_ns":"${process.hrtime.bigint()}","text":"${TEXT}"}\n\n`);
}

function stream(res, events, intervalMs) {
  res.writeHead(200, HEAD);
  let i = 0;
  writeEvent(res, i++);
  if (i >= events) return void res.end();
  const timer = setInterval(() => {
    writeEvent(res, i++);
    if (i >= events) {
      clearInterval(timer);
      res.end();
    }
  }, intervalMs);
  res.once('close', () => clearInterval(timer));
}

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), ALPNProtocols: ['http/1.1'] }, (req, res) => {
  upstream.count(req.headers.authorization);
  req.resume();
  const url = new URL(req.url ?? '/', 'https://upstream.invalid');
  if (url.pathname === '/v1/stream') {
    const events = Math.min(10_000, Math.max(1, Number(url.searchParams.get('events')) || 1));
    const intervalMs = Math.min(1000, Math.max(1, Number(url.searchParams.get('interval_ms')) || 10));
    return stream(res, events, intervalMs);
  }
  if (url.pathname === '/v1/echo') {
    res.writeHead(200, HEAD);
    return void res.end(`data: ${JSON.stringify({ seen: String(req.headers.authorization ?? '').replace(/^Bearer /, '') })}\n\n`);
  }
  res.writeHead(404).end();
});
const upstream = serveUpstream(server, 'sse upstream', { counters: { events_sent: 0 } });
