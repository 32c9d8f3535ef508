// Counting the connections one process holds open to another's listening port, from /proc, so a stray keep-alive socket of the orchestrator is not taken for the load client's.
// (The orchestrator's health probe while starting Vaultgate tries every port it listens on,
// the proxy's too, and undici keeps that connection open for a few seconds afterwards.)
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

function socketInodes(pid) {
  const inodes = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Established TCP sockets on the machine: { local, remote, inode } with ports as numbers. */
function establishedSockets() {
  const out = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01') continue;
      out.push({ local: parseInt(f[1].split(':').at(-1), 16), remote: parseInt(f[2].split(':').at(-1), 16), inode: f[9] });
    }
  }
  return out;
}

/**
 * Connections `serverPid` has accepted on `port` whose other end belongs to `clientPid` (both on
 * this machine): the server-side view of how many connections that client holds.
 */
export function connectionsBetween(serverPid, port, clientPid) {
  const server = socketInodes(serverPid);
  const client = socketInodes(clientPid);
  const all = establishedSockets();
  const clientPorts = new Set(all.filter((s) => client.has(s.inode) && s.remote === port).map((s) => s.local));
  return all.filter((s) => server.has(s.inode) && s.local === port && clientPorts.has(s.remote)).length;
}
