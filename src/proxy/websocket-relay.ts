// WebSocket frames between an agent and its upstream after the handshake: placeholders in the
// agent's frames are injected (unfragmented text, the `websocket` surface) or close the connection
// with 1008 before anything of them leaves; values the upstream echoes are scrubbed from its frames.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { placeholderPrefix } from '../core/placeholders.js';
import type { CompiledScrub } from '../core/scrub.js';
import { createSubstituter, type Resolve, type Substituter } from '../core/substitution.js';
import type { ProxyAccess, ProxyAudits, ProxySecret, Surface } from '../services/proxy-service.js';
import { decideIn, resolverFor, responseScrub } from './rewrite.js';
import { createUpstreamFrames } from './websocket-echo.js';
import { CloseCode, closePayload, createFrameDecoder, encodeFrame, encodeFrameHeader, isControl, Opcode, type FrameEvent, type FrameHeader } from './websocket-frames.js';
import { createFrameWriter } from './websocket-writer.js';

/** Values go only into unfragmented text frames: anywhere else a placeholder blocks. */
export const placeholderOutsideText = 'placeholder in a WebSocket frame other than an unfragmented text frame';
export const tooBigForInspection = 'message too big for inspection';

export interface WebSocketRelayOptions {
  client: Duplex;
  /** Bytes the agent sent past its upgrade request, and the upstream past its 101. */
  clientHead: Buffer;
  upstream: Duplex;
  upstreamHead: Buffer;
  ctx: ProxyAccess;
  audits: ProxyAudits;
  /** The context as it is now (token, agent status, current values), or null when the token no longer holds. */
  refresh(): Promise<ProxyAccess | null>;
  /** Forms the handshake wrote itself (a re-encoded Basic credential), scrubbed in front of the destination's set. */
  ownEcho: CompiledScrub | null;
  limits: { idleTimeoutMs: number; maxBufferedBody: number };
  logger: FastifyBaseLogger;
  randomMask?: () => Buffer;
}

/** An agent frame being read: `held` ones are collected whole, the others stream through the scanner. */
interface Reading {
  held: boolean;
  parts: Buffer[];
}

const joined = (a: Buffer, b: Buffer) => (b.length === 0 ? a : Buffer.concat([a, b]));

export function startWebSocketRelay(o: WebSocketRelayOptions): void {
  const { client, upstream, limits, logger } = o;
  const randomMask = o.randomMask ?? (() => randomBytes(4));
  let ctx = o.ctx;
  let done = false;
  let lastActivity = Date.now();
  const flow = { clientBusy: false, clientPressured: false, upstreamPressured: false };
  const toUpstream = createFrameWriter(upstream, () => pressure('clientPressured', client, upstream));
  const toClient = createFrameWriter(client, () => pressure('upstreamPressured', upstream, client));

  // ---- connection lifecycle -------------------------------------------------------------

  /** A write that did not fit: the side feeding it waits for the drain. */
  function pressure(flag: 'clientPressured' | 'upstreamPressured', source: Duplex, sink: Duplex): void {
    if (flow[flag]) return;
    flow[flag] = true;
    source.pause();
    sink.once('drain', () => {
      flow[flag] = false;
      resumeFlow();
    });
  }

  function resumeFlow(): void {
    if (done) return;
    if (flow.clientBusy || flow.clientPressured) client.pause();
    else client.resume();
    if (!flow.upstreamPressured) upstream.resume();
  }

  function destroyBoth(): void {
    done = true;
    client.destroy();
    upstream.destroy();
  }

  /** Sends `code` to each side that is between frames, then ends both; a side mid-frame is cut. */
  function finish(code: number, reason: string, o2: { upstream: 'close' | 'drop' } = { upstream: 'close' }): void {
    if (done) return;
    done = true;
    const payload = closePayload(code, reason);
    if (o2.upstream === 'drop' || !toUpstream.idle) upstream.destroy();
    else endWith(upstream, encodeFrame({ fin: true, opcode: Opcode.close, payload, maskKey: randomMask() }));
    if (!toClient.idle) client.destroy();
    else endWith(client, encodeFrame({ fin: true, opcode: Opcode.close, payload }));
  }

  function endWith(socket: Duplex, frame: Buffer): void {
    if (socket.writable) socket.end(frame);
    // A peer that never closes its side must not hold the connection.
    setTimeout(() => socket.destroy(), Math.min(limits.idleTimeoutMs, 5000)).unref();
  }

  function fault(err: unknown): void {
    logger.debug({ err: (err as Error).message }, 'websocket relay fault');
    destroyBoth();
  }

  function checkIdle(): void {
    if (client.destroyed && upstream.destroyed) return;
    const quiet = Date.now() - lastActivity;
    if (quiet >= limits.idleTimeoutMs) return destroyBoth();
    setTimeout(checkIdle, limits.idleTimeoutMs - quiet).unref();
  }

  /** Audited as proxy.blocked; the upstream is cut first, so nothing of the frame (or after it) leaves. */
  async function block(reason: string, secret: ProxySecret | null): Promise<void> {
    if (done) return;
    upstream.destroy();
    done = true;
    logger.warn({ agent_id: ctx.caller.agentId, host: ctx.destination.host, reason }, 'proxy.blocked');
    try {
      await o.audits.auditBlocked(ctx.caller, ctx.destination, { reason, secret });
    } catch (err) {
      logger.error({ err }, 'audit of a blocked WebSocket frame failed');
    }
    if (toClient.idle && client.writable) endWith(client, encodeFrame({ fin: true, opcode: Opcode.close, payload: closePayload(CloseCode.policyViolation, `request blocked: ${reason}`) }));
    else client.destroy();
  }

  // ---- agent → upstream ------------------------------------------------------------------

  const clientFrames = createFrameDecoder({ masked: true });
  let reading: Reading | null = null;
  let messageScan: Substituter | null = null;
  let scanSecret: ProxySecret | null = null;

  /** Outside unfragmented text frames no value may go: a placeholder blocks, by its secret's own rule if one applies. */
  const refuseEvery: Resolve = (placeholder) => {
    const decision = decideIn(ctx, placeholder, 'websocket');
    scanSecret = decision.secret;
    return { kind: 'block', reason: decision.kind === 'block' ? decision.reason : placeholderOutsideText, secretId: decision.secret?.id ?? null };
  };

  function onClientEvent(ev: FrameEvent): Promise<void> | void {
    if (ev.kind === 'invalid') return finish(ev.code, ev.reason);
    if (ev.kind === 'start') return startClientFrame(ev.header);
    if (ev.kind === 'payload') return clientPayload(ev.data);
    return endClientFrame(ev.header);
  }

  function startClientFrame(h: FrameHeader): void {
    // Only a whole text message can take a value (its length changes): it is held, the rest streams.
    const held = isControl(h.opcode) || (h.opcode === Opcode.text && h.fin && ctx.held.size > 0);
    if (held && h.length > limits.maxBufferedBody) return finish(CloseCode.tooBig, tooBigForInspection);
    reading = { held, parts: [] };
    if (held) return;
    if (h.opcode !== Opcode.continuation) messageScan = createSubstituter(refuseEvery);
    // Nothing is substituted in a streamed frame, so its length holds and its bytes keep their mask.
    toUpstream.open(encodeFrameHeader({ fin: h.fin, opcode: h.opcode, length: h.length, maskKey: h.maskKey }), h.length, h.maskKey);
  }

  function clientPayload(data: Buffer): Promise<void> | void {
    if (reading!.held) return void reading!.parts.push(data);
    const out = messageScan!.push(data);
    if (messageScan!.blocked) return block(messageScan!.blocked.reason, scanSecret);
    toUpstream.payload(out);
  }

  function endClientFrame(h: FrameHeader): Promise<void> | void {
    const frame = reading!;
    reading = null;
    if (!frame.held) {
      if (!h.fin) return;
      // The message ends: the bytes held back as a possible placeholder's start are decided now.
      const out = messageScan!.end();
      if (messageScan!.blocked) return block(messageScan!.blocked.reason, scanSecret);
      messageScan = null;
      return toUpstream.payload(out);
    }
    const payload = Buffer.concat(frame.parts);
    if (h.opcode === Opcode.text) return injectText(payload, h);
    const answered = h.opcode === Opcode.pong ? upstreamFrames.pingAnswered(payload) : null;
    if (answered) return toUpstream.whole(encodeFrame({ fin: true, opcode: Opcode.pong, payload: answered, maskKey: randomMask() }));
    const scan = createSubstituter(refuseEvery);
    scan.push(payload);
    scan.end();
    if (scan.blocked) return block(scan.blocked.reason, scanSecret);
    toUpstream.whole(encodeFrame({ fin: true, opcode: h.opcode, payload, maskKey: h.maskKey }));
    // Control frames wait behind a fragment still open: their backlog is bounded like a held message.
    if (toUpstream.queuedBytes > limits.maxBufferedBody) finish(CloseCode.tooBig, tooBigForInspection);
  }

  /**
   * An unfragmented text frame: each placeholder is decided for the `websocket` surface against the
   * agent's current token, status and values, the injection audited before the frame leaves.
   */
  async function injectText(payload: Buffer, h: FrameHeader): Promise<void> {
    if (!payload.includes(placeholderPrefix)) return toUpstream.whole(encodeFrame({ fin: true, opcode: Opcode.text, payload, maskKey: h.maskKey }));
    const fresh = await o.refresh();
    if (done) return;
    if (!fresh) return finish(CloseCode.policyViolation, 'proxy authentication required', { upstream: 'drop' });
    ctx = fresh;
    if (ctx.stopped) return block('agent is stopped', null);
    const injected = new Map<string, Set<Surface>>();
    const blocked = { secret: null as ProxySecret | null };
    const sub = createSubstituter(resolverFor(ctx, 'websocket', injected, blocked));
    const out = joined(sub.push(payload), sub.end());
    if (sub.blocked) return block(sub.blocked.reason, blocked.secret);
    // Fail closed: the injection is on record before the value leaves.
    await o.audits.auditInjected(ctx, injected);
    if (done) return;
    // A changed payload gets a fresh key: the agent's key is known to it, the new bytes are not.
    toUpstream.whole(encodeFrame({ fin: true, opcode: Opcode.text, payload: out, maskKey: injected.size > 0 ? randomMask() : h.maskKey }));
  }

  const clientBacklog: Buffer[] = [];
  function onClientData(chunk: Buffer): void {
    lastActivity = Date.now();
    clientBacklog.push(chunk);
    if (!flow.clientBusy) void drainClient();
  }

  /** One frame event after the other: a held text frame awaits its audit before anything behind it. */
  async function drainClient(): Promise<void> {
    flow.clientBusy = true;
    try {
      while (clientBacklog.length > 0 && !done) {
        for (const ev of clientFrames.push(clientBacklog.shift()!)) {
          const step = onClientEvent(ev);
          if (step) {
            client.pause();
            await step;
          }
          if (done) return;
        }
      }
    } catch (err) {
      fault(err);
    } finally {
      flow.clientBusy = false;
      resumeFlow();
    }
  }

  // ---- upstream → agent ------------------------------------------------------------------

  const upstreamFrames = createUpstreamFrames({
    toAgent: toClient,
    echo: () => responseScrub(o.ownEcho, ctx.echo),
    maxHeld: limits.maxBufferedBody,
    invalid: (code, reason) => finish(code, reason),
  });

  function onUpstreamData(chunk: Buffer): void {
    lastActivity = Date.now();
    if (done) return;
    try {
      upstreamFrames.push(chunk);
    } catch (err) {
      fault(err);
    }
  }

  // ---- wiring ----------------------------------------------------------------------------

  for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
    socket.on('error', fault);
    // A side that ends (or goes away) ends the other once what is queued for it is written.
    socket.once('end', () => done || other.end());
    socket.once('close', () => {
      // After finish() or a block the relay closes the other side itself (a close frame may follow an audit).
      if (done) return;
      done = true;
      if (!other.destroyed) endWith(other, Buffer.alloc(0));
    });
  }
  setTimeout(checkIdle, limits.idleTimeoutMs).unref();
  client.on('data', onClientData);
  upstream.on('data', onUpstreamData);
  if (o.upstreamHead.length > 0) onUpstreamData(o.upstreamHead);
  if (o.clientHead.length > 0) onClientData(o.clientHead);
}
