// The soak scenario's held connections: idle ones (nothing, half a head, a tunnel without TLS or
// without a request) and slowloris ones (a head one byte at a time), each slot reopened once the
// server closes it; how long the server let each live is the figure.
import { connectTunnel, openTls } from './proxy-connect.mjs';
import { sleep } from './proc.mjs';
import { tunnelSpec } from './soak-hostile.mjs';
import { dial, trickle, untilClosed } from './soak-wire.mjs';

const SLOW_TAIL = `X-Slow: ${'a'.repeat(20_000)}`;

/** sub-kind → async (spec) → { sock, drip? } — drip: text to trickle while the connection lives. */
export const idleKinds = {
  api_silent: async (s) => ({ sock: await dial(s.apiPort) }),
  api_half_head: async (s) => withWrite(await dial(s.apiPort), 'GET /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
  proxy_silent: async (s) => ({ sock: await dial(s.proxyPort) }),
  proxy_half_head: async (s) => withWrite(await dial(s.proxyPort), `CONNECT ${s.host}:443 HTTP/1.1\r\nHost: ${s.host}:443\r\n`),
  tunnel_no_tls: async (s) => ({ sock: await connectTunnel(tunnelSpec(s, s.host)) }),
  tunnel_tls_idle: async (s) => ({ sock: await openTls(tunnelSpec(s, s.host)) }),
};

export const slowKinds = {
  api_slowloris: async (s) => ({ sock: await dial(s.apiPort), drip: `GET /api/public/v1/vaults HTTP/1.1\r\nHost: 127.0.0.1\r\n${SLOW_TAIL}` }),
  proxy_slowloris: async (s) => ({ sock: await dial(s.proxyPort), drip: `CONNECT ${s.host}:443 HTTP/1.1\r\nHost: ${s.host}:443\r\n${SLOW_TAIL}` }),
  tunnel_slowloris: async (s) => ({ sock: await openTls(tunnelSpec(s, s.host)), drip: `GET /v1/soak/slow HTTP/1.1\r\nHost: ${s.host}\r\n${SLOW_TAIL}` }),
};

function withWrite(sock, text) {
  sock.write(text);
  return { sock };
}

function newStats() {
  return { opened: 0, closed_by_server: 0, open_errors: 0, still_open_at_end: 0, not_reaped: 0, lifetimes_ms: [], answers: {}, error_samples: [] };
}

/** One slot: open a connection of the next sub-kind, wait for the server to close it, repeat until `signal`. */
async function slot(kinds, names, start, s, stats, signal, dripEveryMs, reapBoundMs) {
  for (let i = start; !signal.aborted; i++) {
    const name = names[i % names.length];
    const st = (stats[name] ??= newStats());
    let conn;
    try {
      conn = await kinds[name](s);
    } catch (err) {
      st.open_errors++;
      if (st.error_samples.length < 3) st.error_samples.push(String(err?.code ?? err?.message ?? err).slice(0, 160));
      await sleep(500);
      continue;
    }
    st.opened++;
    conn.sock.on('error', () => {});
    if (conn.drip) void trickle(conn.sock, conn.drip, dripEveryMs, signal);
    const end = await untilClosed(conn.sock, signal);
    if (end.byServer) {
      st.closed_by_server++;
      st.lifetimes_ms.push(Math.round(end.ms));
      const answer = /^HTTP\/1\.[01] (\d{3})/.exec(end.firstBytes)?.[1] ?? (end.firstBytes ? 'bytes' : 'none');
      st.answers[answer] = (st.answers[answer] ?? 0) + 1;
    } else {
      st.still_open_at_end++;
      if (end.ms > reapBoundMs) st.not_reaped++;
      conn.sock.destroy();
    }
    await sleep(100);
  }
}

/** `count` slots over `kinds` (round robin) until `signal` aborts → per sub-kind stats with lifetime min/median/max. */
export async function holdConnections({ kinds, count, spec, signal, dripEveryMs = 400, reapBoundMs }) {
  const names = Object.keys(kinds);
  const stats = {};
  await Promise.all(Array.from({ length: count }, (_, i) => slot(kinds, names, i, spec, stats, signal, dripEveryMs, reapBoundMs)));
  for (const st of Object.values(stats)) {
    const l = st.lifetimes_ms.sort((a, b) => a - b);
    st.lifetime_ms = l.length ? { min: l[0], median: l[l.length >> 1], max: l[l.length - 1] } : null;
    delete st.lifetimes_ms;
  }
  return stats;
}
