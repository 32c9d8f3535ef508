// One exchange at a time per client connection, and none after a refusal: a request pipelined
// behind one answered with `Connection: close` is never processed (RFC 9112 §9.6, SPEC §6).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Turns {
  /** Settles once the latest request of the connection has been answered (or abandoned). */
  last: Promise<void>;
  /** Set by a response that closes the connection: every request behind it is dropped. */
  closing: boolean;
}

const bySocket = new WeakMap<Socket, Turns>();
/** By response too: Node may have let go of the socket by the time a late refusal is sent. */
const byResponse = new WeakMap<ServerResponse, Turns>();

function turnsOf(socket: Socket): Turns {
  let turns = bySocket.get(socket);
  if (!turns) bySocket.set(socket, (turns = { last: Promise.resolve(), closing: false }));
  return turns;
}

/** The connection closes after this response: nothing pipelined behind it runs. */
export function closeAfter(res: ServerResponse): void {
  const turns = byResponse.get(res);
  if (turns) turns.closing = true;
}

/**
 * Runs `handle` once every earlier request of the connection has been answered. Node parses and
 * emits pipelined requests at once; without this, the one behind a refused request would already
 * be on its way upstream when the refusal is decided.
 */
export function inTurn(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
  const turns = turnsOf(req.socket);
  byResponse.set(res, turns);
  const answered = new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
  const run = turns.last.then(() => (turns.closing ? undefined : handle()));
  const settled = () => (turns.closing ? undefined : answered);
  turns.last = run.then(settled, settled);
  return run;
}
