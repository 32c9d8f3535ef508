// Baseline: a minimal Node http server answering every request with a small JSON body.
// Reads (and discards) any request body first, like an API server would.
import { createServer } from 'node:http';

const body = Buffer.from(JSON.stringify({ id: 'hello', ok: true }));
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(req.method === 'POST' ? 201 : 200, headers);
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;

const [host = '127.0.0.1', port = '0'] = (process.argv[2] ?? '127.0.0.1:0').split(':');
server.listen(Number(port), host, () => {
  const a = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'hello baseline listening', address: `http://${a.address}:${a.port}` })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
