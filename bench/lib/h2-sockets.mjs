// Counting the connections one process holds open to another's listening port, from /proc, so a stray keep-alive socket of the orchestrator is not taken for the load client's.
// (The orchestrator's health probe while starting Vaultgate tries every port it listens on,
// the proxy's too, and undici keeps that connection open for a few seconds afterwards.)
import { socketInodes, tcpSockets } from './proc.mjs';

/**
 * Connections `serverPid` has accepted on `port` whose other end belongs to `clientPid` (both on
 * this machine): the server-side view of how many connections that client holds.
 */
export function connectionsBetween(serverPid, port, clientPid) {
  const server = socketInodes(serverPid);
  const client = socketInodes(clientPid);
  const all = tcpSockets('01');
  const clientPorts = new Set(all.filter((s) => client.has(s.inode) && s.remote === port).map((s) => s.local));
  return all.filter((s) => server.has(s.inode) && s.local === port && clientPorts.has(s.remote)).length;
}
