// The child end every HTTPS upstream of the proxy scenarios shares: counting what each request's
// Authorization was (the expected value, a placeholder, anything else), its TLS connections, the
// orchestrator's commands (startUpstream in proxy-harness.mjs) and announcing its port.

/**
 * Serves `server` on 127.0.0.1, announcing `{ msg: '<name> listening', port }` on stdout, and answers
 * the orchestrator: `{ cmd: 'expect', authorization }` (what every request should carry), `{ cmd:
 * 'reset' }` (zero the counters), `{ cmd: 'exit' }`, and the upstream's own `commands`; a command that
 * returns nothing, and any other message, is answered with the counters. `counters`: the upstream's
 * own, after requests/expected/placeholder/other and zeroed with them. `countConnections`: count
 * accepted TLS connections in `tls_connections` (one of `counters`) and report the open ones.
 * Returns `count(authorization)`, which counts one request, and `stats()`, the current counters.
 */
export function serveUpstream(server, name, { counters = {}, countConnections = false, commands = {} } = {}) {
  let expected = null;
  let stats;
  let open = 0;
  const reset = () => (stats = { requests: 0, expected: 0, placeholder: 0, other: 0, ...counters });
  reset();
  // Idle pooled connections (the proxy's and the client's) stay open for the whole run; an http2
  // server with allowHTTP1 reads this for its HTTP/1.1 fallback too.
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', (sock) => {
    // Small writes (an SSE event, a short answer) leave at once, without Nagle's delay.
    sock.setNoDelay(true);
    if (!countConnections) return;
    stats.tls_connections++;
    open++;
    sock.once('close', () => open--);
  });

  process.on('message', (msg) => {
    if (msg?.cmd === 'expect') expected = msg.authorization;
    else if (msg?.cmd === 'reset') reset();
    else if (msg?.cmd === 'exit') return server.close(() => process.exit(0));
    else if (Object.hasOwn(commands, msg?.cmd ?? '')) {
      const result = commands[msg.cmd]();
      if (result !== undefined) return process.send({ id: msg.id, result });
    }
    process.send({ id: msg?.id, result: countConnections ? { ...stats, open_connections: open } : { ...stats } });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));

  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ msg: `${name} listening`, port: server.address().port })}\n`);
  });
  return {
    count(authorization) {
      stats.requests++;
      if (expected !== null && authorization === expected) stats.expected++;
      else if (authorization?.includes('vgph_')) stats.placeholder++;
      else stats.other++;
    },
    stats: () => stats,
  };
}
