// Raw-socket tools of the hostile-traffic suite: dialing with an error listener, watching what
// comes back, ending a connection by reset, half-close or stall, and a bounded-concurrency pool.
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

/** How a test connection ends: TCP reset, half-close (FIN), or silence until the server or the stage ends it. */
export type Ending = 'reset' | 'end' | 'stall';
export const allEndings: Ending[] = ['reset', 'end', 'stall'];

export interface Watched {
  text(): string;
  /** Resolves true once `pred(text)` holds, false on close or after `ms`. */
  until(pred: (text: string) => boolean, ms: number): Promise<boolean>;
  closed: Promise<void>;
}

/**
 * A TCP connection with an error listener (resets are expected), flowing so that the server's FIN
 * is seen even when nobody reads; resolves once connected or already closed.
 */
export function dial(port: number): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.resume();
  return new Promise((r) => sock.once('connect', () => r(sock)).once('close', () => r(sock)));
}

/** Records everything `sock` receives (as latin1) and when it closes. */
export function watch(sock: net.Socket | tls.TLSSocket): Watched {
  let text = '';
  let closed = sock.destroyed;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  sock.on('data', (d: Buffer) => ((text += d.toString('latin1')), wake()));
  const closedP = closed ? Promise.resolve() : new Promise<void>((r) => sock.once('close', () => ((closed = true), wake(), r())));
  return {
    text: () => text,
    closed: closedP,
    until(pred, ms) {
      if (pred(text)) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise((resolve) => {
        const done = (v: boolean) => (clearTimeout(timer), waiters.delete(check), resolve(v));
        const check = () => (pred(text) ? done(true) : closed ? done(false) : undefined);
        const timer = setTimeout(() => done(false), ms);
        waiters.add(check);
      });
    },
  };
}

/** The response head (status line and headers) once complete, or what arrived before close or `ms`. */
export async function readHead(w: Watched, ms: number): Promise<string> {
  await w.until((t) => t.includes('\r\n\r\n'), ms);
  return w.text().split('\r\n\r\n')[0] ?? '';
}

/** Resolves once `data` is handed to the kernel (or the socket failed). */
export function send(sock: net.Socket | tls.TLSSocket, data: string | Buffer): Promise<void> {
  if (sock.destroyed) return Promise.resolve();
  return new Promise((r) => sock.write(data, () => r()));
}

/** Waits for close up to `ms`, then destroys. */
export async function closeWithin(sock: net.Socket, ms: number): Promise<boolean> {
  if (sock.destroyed) return true;
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    new Promise<boolean>((r) => sock.once('close', () => r(true))),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  sock.destroy();
  return closed;
}

/**
 * Ends a test connection. `raw` is the TCP socket (reset goes there); `top` is what a half-close
 * ends (the TLS socket inside a tunnel). A stalled socket joins `held`, released at stage end.
 */
export async function finish(how: Ending, raw: net.Socket, held: net.Socket[], top: net.Socket | tls.TLSSocket = raw): Promise<void> {
  if (how === 'stall') return void held.push(raw);
  if (raw.destroyed) return;
  if (how === 'reset') raw.resetAndDestroy();
  else top.end();
  await closeWithin(raw, 2000);
}

/** Destroys every held socket. */
export function release(held: net.Socket[]): void {
  for (const s of held.splice(0)) s.destroy();
}

/** Runs `fn(i)` for every i < n, at most `width` at a time; results in order. */
export async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

/** A real TLS ClientHello for `servername`, as the first record a client would send. */
export async function clientHello(servername: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Duplex({ read() {}, write(c: Buffer, _e, cb) { chunks.push(c); cb(); } });
  const sock = tls.connect({ socket: sink, servername, ALPNProtocols: ['http/1.1'] });
  sock.on('error', () => undefined);
  await new Promise<void>((r) => { const tick = () => (chunks.length > 0 ? r() : setImmediate(tick)); tick(); });
  sock.destroy();
  return Buffer.concat(chunks);
}
