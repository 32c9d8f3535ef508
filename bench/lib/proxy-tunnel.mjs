// Baseline for the proxy scenario: a minimal CONNECT tunnel proxy (no interception, no auth
// check). `CONNECT host:port` dials host:port, or its mapping from TUNNEL_CONNECT_TO
// (`host:port=addr:port,…`, like VAULTGATE_PROXY_CONNECT_TO), answers 200 and splices bytes.
import http from 'node:http';
import net from 'node:net';

const connectTo = new Map();
for (const item of (process.env.TUNNEL_CONNECT_TO ?? '').split(',').filter(Boolean)) {
  const [from, to] = item.split('=');
  const at = to.lastIndexOf(':');
  connectTo.set(from.toLowerCase(), { host: to.slice(0, at), port: Number(to.slice(at + 1)) });
}

const server = http.createServer((_req, res) => {
  res.writeHead(405, { 'content-type': 'text/plain', connection: 'close' });
  res.end('CONNECT only\n');
});

server.on('connect', (req, client, head) => {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(req.url ?? '');
  if (!m) return client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  const target = connectTo.get(req.url.toLowerCase()) ?? { host: m[1], port: Number(m[2]) };
  const upstream = net.connect(target.port, target.host);
  const close = () => {
    upstream.destroy();
    client.destroy();
  };
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let established = false;
  upstream.once('connect', () => {
    established = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.once('error', () => {
    if (established) return close();
    client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  client.once('error', close);
  upstream.once('close', close);
  client.once('close', close);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'tunnel listening', port: server.address().port })}\n`);
});
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500).unref();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
