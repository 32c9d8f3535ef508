// Raw-socket primitives for the soak scenario's hostile traffic: dial, read a response head,
// reset (RST), trickle bytes, and a real TLS ClientHello to cut short.
import net from 'node:net';
import tls from 'node:tls';
import { sleep } from './proc.mjs';

/** A connected TCP socket to 127.0.0.1:port (an error listener stays on it: faults are outcomes). */
export function dial(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      sock.on('error', () => {});
      resolve(sock);
    });
  });
}

/** Sends RST (not FIN) and frees the socket; a socket already gone is left alone. */
export function rst(sock) {
  if (!sock || sock.destroyed) return;
  try {
    sock.resetAndDestroy();
  } catch {
    sock.destroy();
  }
}

/**
 * The outcome of waiting for a response head on `sock`: "<status>", "closed" (FIN without a
 * head), "reset_by_server" (ECONNRESET/EPIPE), "error:<code>" or "timeout".
 */
export function readHead(sock, timeoutMs = 5000) {
  return new Promise((resolve) => {
    let buf = '';
    const done = (outcome) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onError);
      resolve(outcome);
    };
    const onData = (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m && buf.includes('\r\n\r\n')) done(m[1]);
      else if (buf.length > 4 && !buf.startsWith('HTTP/')) done('garbage');
    };
    const onClose = () => done(buf ? 'partial_head' : 'closed');
    const onError = (err) => done(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset_by_server' : `error:${err.code ?? err.message}`);
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.once('error', onError);
    sock.resume();
  });
}

/** Resolves when the server closes `sock` (or `signal` aborts): { byServer, ms, firstBytes }. */
export function untilClosed(sock, signal) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let first = '';
    const onData = (d) => {
      if (first.length < 40) first += d.toString('latin1').slice(0, 40 - first.length);
    };
    const finish = (byServer) => {
      signal?.removeEventListener('abort', onAbort);
      sock.off('data', onData);
      resolve({ byServer, ms: performance.now() - t0, firstBytes: first });
    };
    const onAbort = () => finish(false);
    sock.on('data', onData);
    if (sock.closed) return finish(true);
    if (signal?.aborted) return finish(false);
    sock.once('close', () => finish(true));
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.resume();
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes or `signal` aborts. */
export async function trickle(sock, text, everyMs, signal) {
  for (const ch of text) {
    if (sock.destroyed || signal?.aborted) return;
    sock.write(ch);
    await sleep(everyMs);
  }
}

/**
 * Writes `total` bytes of `chunk` repeated, honouring back-pressure; stops quietly when the socket
 * goes or the peer stops reading for `stallMs`. Returns the bytes handed to the socket.
 */
export async function writeRepeated(sock, chunk, total, stallMs = 5000) {
  let sent = 0;
  while (sent < total && !sock.destroyed) {
    const part = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
    sent += part.length;
    if (sock.write(part)) continue;
    const drained = await new Promise((r) => {
      const timer = setTimeout(() => r(false), stallMs);
      const done = (v) => () => (clearTimeout(timer), sock.off('drain', onDrain), sock.off('close', onClose), r(v));
      const onDrain = done(true);
      const onClose = done(false);
      sock.once('drain', onDrain);
      sock.once('close', onClose);
    });
    if (!drained) break;
  }
  return sent;
}

/** The first TLS record a Node client sends for `servername` (its ClientHello), captured once on a local socket. */
export async function captureClientHello(servername) {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const hello = new Promise((resolve) => {
    srv.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf.subarray(0, 5 + buf.readUInt16BE(3)));
          s.destroy();
        }
      });
      s.on('error', () => {});
    });
  });
  const client = tls.connect({ port: srv.address().port, host: '127.0.0.1', servername, ALPNProtocols: ['http/1.1'] });
  client.on('error', () => {});
  const record = await hello;
  client.destroy();
  srv.close();
  return record;
}
