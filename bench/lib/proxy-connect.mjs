// Opening one TLS connection to an origin for the proxy scenario: directly, or through an HTTP
// proxy's `CONNECT` (with Basic proxy credentials). Used by the load client and the setup checks.
import net from 'node:net';
import tls from 'node:tls';

// One SecureContext per trusted CA: building one per connection (what `ca:` on tls.connect does)
// costs the client milliseconds of CPU per handshake and would make the load generator the bottleneck.
const contexts = new Map();
function contextFor(ca) {
  let ctx = contexts.get(ca);
  if (!ctx) contexts.set(ca, (ctx = tls.createSecureContext({ ca })));
  return ctx;
}

/**
 * `CONNECT servername:443` through spec.proxy (Basic credentials from spec.proxy.auth, if any):
 * resolves with the raw socket once the proxy answered 200 (bytes after the head are unshifted),
 * rejects on any other answer. `extraHead`: more header lines (each ending in CRLF).
 */
export function connectTunnel(spec, extraHead = '') {
  return new Promise((resolve, reject) => {
    const raw = net.connect(spec.proxy.port, spec.proxy.host);
    raw.setNoDelay(true);
    const fail = (err) => {
      raw.destroy();
      reject(err);
    };
    raw.once('error', fail);
    raw.once('connect', () => {
      const auth = spec.proxy.auth ? `Proxy-Authorization: Basic ${Buffer.from(spec.proxy.auth).toString('base64')}\r\n` : '';
      raw.write(`CONNECT ${spec.servername}:443 HTTP/1.1\r\nHost: ${spec.servername}:443\r\n${auth}${extraHead}\r\n`);
    });
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      raw.off('data', onData);
      raw.pause();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (status !== 200) return fail(Object.assign(new Error(`CONNECT answered ${status}: ${buf.subarray(0, 300).toString('latin1')}`), { status }));
      if (end + 4 < buf.length) raw.unshift(buf.subarray(end + 4));
      raw.off('error', fail);
      resolve(raw);
    };
    raw.on('data', onData);
  });
}

/**
 * spec: { proxy: {host, port, auth?} | null, host, port (direct), servername, ca } → connected
 * TLSSocket; `rawSocket` on it is the TCP socket underneath (to reset it).
 */
export function openTls(spec) {
  const tlsOptions = { servername: spec.servername, secureContext: contextFor(spec.ca), ALPNProtocols: ['http/1.1'] };
  const secure = (raw) =>
    new Promise((resolve, reject) => {
      const sock = tls.connect({ socket: raw, ...tlsOptions });
      sock.rawSocket = raw;
      sock.once('error', reject);
      sock.once('secureConnect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
    });
  if (spec.proxy) return connectTunnel(spec).then(secure);
  const raw = net.connect(spec.port, spec.host);
  raw.setNoDelay(true);
  return secure(raw);
}

/** An undici `connect` function over openTls, counting the connections it opens. */
export function connector(spec, counter = { opened: 0 }) {
  return (_opts, callback) => {
    counter.opened++;
    openTls(spec).then(
      (sock) => callback(null, sock),
      (err) => callback(err, null),
    );
  };
}
