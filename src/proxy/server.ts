// The egress proxy: authenticates agents, intercepts CONNECT tunnels with minted leaves, and
// forwards each request with placeholders replaced only where the secret allows.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { constants as http2Constants, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { pipeline } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { errorTable, VaultError, type ErrorCode } from '../contract/errors.js';
import { answeredWith, errorFormatOf, isH2, sendError, upstreamFailure, type AgentRequest, type AgentResponse, type ErrorFormat } from './answers.js';
import { formatAuthority, parseAuthority, type Destination } from '../core/host-match.js';
import { createIdFactory } from '../core/ids.js';
import { keptRequestId } from '../core/request-id.js';
import type { CompiledScrub } from '../core/scrub.js';
import type { ProxyMetrics } from '../metrics.js';
import { guardHttpServer, httpServerOptions, ownSocket, type ConnectionLimits } from '../net/connections.js';
import type { AuthThrottle } from '../services/auth-failures.js';
import type { AgentCaller } from '../services/context.js';
import type { Blocked, ProxyAccess, ProxySecret, ProxyService } from '../services/proxy-service.js';
import { countedAudits, outcomeOf } from './proxy-metrics.js';
import { relayResponse } from './relay.js';
import { forwardH2 } from './forward-h2.js';
import { createH2TunnelServer } from './h2-tunnel.js';
import { checkH2Request, checkTunnelRequest, sniMatches } from './tunnel-rules.js';
import { BodyBlockedError } from './request-body.js';
import { clientClosed, ownEchoScrub, replaceInjected, responseScrub, rewriteRequest, type Rewritten } from './rewrite.js';
import { inTurn } from './connection-turns.js';
import { namesPlaceholder, placeholderInDestination, redactedDestination } from './destination-guard.js';
import { startTunnelTimers, type TunnelTimers } from './tunnel-timers.js';
import type { Upstreams } from './upstream.js';
import { isWebSocketUpgrade, relayWebSocket } from './websocket.js';

export interface LeafSource {
  leafFor(host: string): Promise<{ certPem: string; keyPem: string }>;
}

export interface ProxyServerOptions {
  service: ProxyService;
  leaves: LeafSource;
  caCertPem: string;
  upstreams: Upstreams;
  logger: FastifyBaseLogger;
  limits: ProxyLimits;
  throttle: AuthThrottle;
  metrics?: ProxyMetrics;
}

export interface ProxyLimits extends ConnectionLimits {
  handshakeTimeoutMs: number;
  maxBufferedBody: number;
}

interface TunnelInfo {
  caller: AgentCaller;
  destination: Destination;
  authority: string;
  /** The CONNECT's Proxy-Authorization, checked again for every request of the tunnel. */
  proxyAuthorization: string | undefined;
  /** The client's address (a TLS socket over a tunnel does not know it). */
  address: string;
  /** Head, body and idle limits of the tunnel's requests (set once the handshake is done). */
  timers: TunnelTimers | null;
}

/** Who was refused, and where to: enough for the audit record, with no store read or decryption. */
type RefusedAt = Pick<ProxyAccess, 'caller' | 'destination'> & Partial<Pick<ProxyAccess, 'request'>>;

export interface RefuseOptions {
  /** `aws-xml` for a SigV4-signed request (`errorFormatOf`). */
  format?: ErrorFormat;
  secret?: ProxySecret | null;
  cause?: Blocked['cause'];
  code?: ErrorCode;
  message?: string;
  headers?: Record<string, string>;
}

const requestIds = createIdFactory();
/** Methods a request may be resent with (SPEC §10's retry after a 401). */
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const maxContexts = 1000;

/** `Proxy-Authorization: Basic base64(agent_id:token)`. */
export function parseProxyAuthorization(header: string | undefined): { agentId: string; token: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header?.trim() ?? '');
  if (!match?.[1]) return null;
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { agentId: text.slice(0, colon), token: text.slice(colon + 1) };
}

export function createProxyServer(opts: ProxyServerOptions): http.Server {
  const { upstreams, logger, limits, throttle } = opts;
  const metrics = opts.metrics;
  const service = metrics ? countedAudits(opts.service, metrics) : opts.service;
  /** Exchanges that carried a value upstream (the rest that reached it passed untouched). */
  const injectedExchanges = new WeakSet<AgentResponse>();
  const tunnels = new WeakMap<Socket, TunnelInfo>();
  const contexts = new Map<string, Promise<SecureContext>>();

  function contextFor(host: string): Promise<SecureContext> {
    let ctx = contexts.get(host);
    metrics?.certificateCache(ctx !== undefined);
    if (!ctx) {
      ctx = opts.leaves.leafFor(host).then((leaf) => createSecureContext({ key: leaf.keyPem, cert: `${leaf.certPem.trimEnd()}\n${opts.caCertPem.trimEnd()}\n` }));
      contexts.set(host, ctx);
      // Bounded like the leaf cache: the oldest host goes first.
      if (contexts.size > maxContexts) contexts.delete(contexts.keys().next().value as string);
      ctx.catch(() => contexts.delete(host));
      // Leaves are short-lived: drop the context with them (the minter renews on the next ask).
      setTimeout(() => contexts.delete(host), 60 * 60 * 1000).unref();
    }
    return ctx;
  }

  /** `requestIdHeader`: the request's `X-Request-Id`, kept as its id when valid (SPEC §11). */
  async function authenticate(address: string, header: string | undefined, requestIdHeader: string | string[] | undefined): Promise<AgentCaller | null> {
    const creds = parseProxyAuthorization(header);
    const requestId = keptRequestId(requestIdHeader) ?? requestIds('request');
    const caller = creds && (await service.authenticate(creds.agentId, creds.token, { requestId, sourceIp: address }));
    if (!caller) throttle.failed(address, 'proxy');
    return caller ?? null;
  }

  /**
   * The tunnel's credentials checked again, for each of its requests, streams and placeholder-carrying
   * frames: a token revoked while its tunnel is open must not keep working on it.
   */
  async function tunnelCaller(info: TunnelInfo, req: AgentRequest): Promise<AgentCaller | null> {
    const caller = await authenticate(info.address, info.proxyAuthorization, req.headers['x-request-id']);
    return caller && caller.agentId === info.caller.agentId ? caller : null;
  }

  /** A placeholder named as the destination: audited under a redacted host, refused before any lookup. */
  async function auditPlaceholderDestination(caller: AgentCaller, authority: string, defaultPort: number): Promise<string> {
    const destination = redactedDestination(authority, defaultPort);
    await service.auditBlocked(caller, destination, { reason: placeholderInDestination, secret: null });
    logger.warn({ agent_id: caller.agentId, host: destination.host, reason: placeholderInDestination }, 'proxy.blocked');
    return `request blocked: ${placeholderInDestination}`;
  }

  /**
   * Audits a refusal, logs it (reasons name rules, never values) and answers it with
   * `Connection: close`: the body may be partly unread, and nothing pipelined behind it runs.
   */
  async function refuse(at: RefusedAt, res: AgentResponse, reason: string, o: RefuseOptions = {}): Promise<void> {
    await service.auditBlocked(at.caller, at.destination, { reason, secret: o.secret ?? null, cause: o.cause, ...(at.request ? { request: at.request } : {}) });
    logger.warn({ agent_id: at.caller.agentId, host: at.destination.host, reason }, 'proxy.blocked');
    const requestId: Record<string, string> = at.caller.requestId ? { 'x-request-id': at.caller.requestId } : {};
    sendError(res, o.code ?? 'proxy_blocked', o.message ?? `request blocked: ${reason}`, { ...o.headers, ...requestId, connection: 'close' }, o.format);
  }

  /** A request that failed past its checks: ours (a token endpoint's failure is answered where the token is decided). */
  function failed(res: AgentResponse, err: unknown, what: string): void {
    logger.error({ err }, what);
    sendError(res, 'internal');
  }

  /** Every request and response stream: a fault ends that exchange, never the process. */
  function ownExchange(req: AgentRequest, res: AgentResponse): void {
    const log = (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, err: err.message }, 'proxy exchange fault');
    req.on('error', log);
    res.on('error', log);
    if (metrics) res.once('close', () => metrics.request(outcomeOf(answeredWith(res), injectedExchanges.has(res))));
  }

  /** One request to a destination: rewrite, audit, forward, relay. */
  async function forward(req: AgentRequest, res: AgentResponse, caller: AgentCaller, destination: Destination, tls: boolean, path: string, hostHeader: string) {
    const line = { method: req.method ?? 'GET', target: path };
    let ctx = await service.prepare(caller, destination, tls, line);
    // The kill switch (SPEC §2): every request of a stopped agent is refused, placeholder or not.
    if (ctx.stopped) return refuse(ctx, res, 'agent is stopped', { code: 'agent_stopped', message: errorTable.agent_stopped.message });
    // The HTTP/2 compatibility request reads like an IncomingMessage where the rewrite looks.
    const rewritten = await rewriteRequest(req as IncomingMessage, ctx, { path, hostHeader, maxBufferedBody: limits.maxBufferedBody, http2: isH2(res) });
    if (!rewritten.ok) {
      if (rewritten.status === clientClosed) return void (isH2(res) ? res.stream.close(http2Constants.NGHTTP2_CANCEL) : res.destroy());
      // A value that could not be had (an OAuth token endpoint that failed) is the upstream side's failure: 502.
      const code = rewritten.status === 413 ? 'body_too_large' : rewritten.cause === 'unavailable' ? 'upstream_failed' : 'proxy_blocked';
      return refuse(ctx, res, rewritten.reason, { secret: rewritten.secret, cause: rewritten.cause, code, format: errorFormatOf(req), ...(code === 'upstream_failed' ? { message: `upstream request failed: ${rewritten.reason}` } : {}) });
    }
    let { request } = rewritten;
    const target = upstreams.target(destination.host, destination.port);
    if (!upstreams.literalAllowed(target.host)) return refuse(ctx, res, 'destination address not allowed', { code: 'destination_forbidden', message: errorTable.destination_forbidden.message });
    const admitted = await service.admit(ctx, request.injected.keys());
    if (!admitted.ok) {
      const retryAfter = String(admitted.retryAfterSeconds);
      return refuse(ctx, res, 'rate limit of this secret reached', { secret: admitted.secret, cause: 'rate_limited', code: 'rate_limited', headers: { 'retry-after': retryAfter }, format: errorFormatOf(req) });
    }
    // Fail closed: the injection is on record before the value leaves.
    await service.auditInjected(ctx, request.injected);
    if (request.injected.size > 0) injectedExchanges.add(res);
    if (res.destroyed) return;
    if (isH2(res)) return forwardOnH2(req as Http2ServerRequest, res, ctx, request, responseScrub(ownEchoScrub(request), ctx.echo));
    // SPEC §10: after a 401, an idempotent request that carried an OAuth access token is sent once
    // more with a fresh one. Only a request whose body is held whole (or has none) can be resent.
    let retry = Buffer.isBuffer(request.body) || request.body === null ? oauthRetry(ctx, request, line.method) : null;
    let blocked: string | null = null;
    const agentGone = () => res.destroyed || (!req.complete && req.destroyed);
    let current: http.ClientRequest | null = null;
    // The agent went away: so does its upstream exchange.
    res.once('close', () => {
      if (!res.writableFinished) current?.destroy();
    });

    const send = () => {
      // Every response from here is scrubbed of every value that may be sent here (SPEC §6); the
      // forms this request itself wrote (a re-encoded Basic credential) are added in front.
      const scrub = responseScrub(ownEchoScrub(request), ctx.echo);
      const options = {
        host: target.host,
        port: target.port,
        method: req.method,
        path: request.path,
        headers: request.headers.flat(),
        setHost: false,
        ...(tls ? { servername: destination.isIp ? undefined : destination.host, agent: upstreams.httpsAgent(caller.agentId) } : { agent: upstreams.httpAgent(caller.agentId) }),
      };
      const sentAt = performance.now();
      const upstreamReq = (tls ? https : http).request(options as https.RequestOptions, (upRes) => {
        metrics?.upstreamHead((performance.now() - sentAt) / 1000);
        upRes.on('error', (err) => logger.debug({ err: err.message }, 'upstream response fault'));
        if (upRes.statusCode === 401 && retry) {
          const renew = retry;
          retry = null;
          upRes.resume();
          void renew()
            .then((next) => {
              if (!next || res.destroyed) return void (next === null && sendError(res, 'upstream_failed'));
              ({ ctx, request } = next);
              send();
            })
            .catch((err: unknown) => {
              logger.warn({ agent_id: caller.agentId, host: destination.host, err: (err as Error).message }, 'access token renewal failed');
              sendError(res, 'upstream_failed');
            });
          return;
        }
        try {
          relayResponse(upRes, res, scrub, (err) => logger.debug({ err: err.message }, 'relay ended early'));
        } catch (err) {
          // Node's client parser accepts heads its server refuses to write (a control character in
          // the reason phrase or a header): such an answer is the upstream's fault, not the process's.
          logger.warn({ agent_id: caller.agentId, host: destination.host, code: (err as NodeJS.ErrnoException).code }, 'upstream answer cannot be relayed');
          upRes.destroy();
          sendError(res, 'upstream_failed');
        }
      });
      current = upstreamReq;
      // An upstream that stops sending (or a body the agent stops sending) does not hold the exchange.
      upstreamReq.setTimeout(limits.idleTimeoutMs, () => upstreamReq.destroy(Object.assign(new Error('upstream idle'), { code: 'EVAULTGATE_IDLE' })));
      upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
        if (blocked !== null) return;
        // The agent went away mid-body (the pipeline then aborts the upstream request): not the upstream's fault.
        if (agentGone()) return void logger.debug({ agent_id: caller.agentId, host: destination.host }, 'agent left mid-request');
        const failure = upstreamFailure(err);
        const forbidden = failure === 'destination_forbidden';
        logger.warn({ agent_id: caller.agentId, host: destination.host, code: err.code }, 'upstream error');
        if (forbidden) void service.auditBlocked(caller, destination, { reason: 'destination address not allowed', secret: null }).catch(() => undefined);
        sendError(res, failure, undefined, forbidden ? { connection: 'close' } : {});
      });
      const body = request.body;
      if (body === null || Buffer.isBuffer(body)) {
        upstreamReq.end(body ?? undefined);
        return;
      }
      // A streamed body: a placeholder found past the look-ahead aborts the upstream request
      // unfinished (its framing never completes) and the agent gets the block.
      upstreamReq.write(body.prefix);
      pipeline(req, body.rest, upstreamReq, (err) => {
        if (!(err instanceof BodyBlockedError)) return;
        blocked = err.reason;
        upstreamReq.destroy();
        refuse(ctx, res, err.reason, { secret: request.blockedBy.secret, cause: request.blockedBy.cause }).catch((auditErr: unknown) => {
          logger.error({ err: auditErr }, 'audit of a blocked request failed');
          sendError(res, 'internal', undefined, { connection: 'close' });
        });
      });
    };
    send();
  }

  /**
   * How to resend a request after a 401 with fresh access tokens, or null when it may not be: not an
   * idempotent method, or no oauth2 secret injected. The renewal drops each token the request
   * carried (if it is still the current one), prepares the request again (new tokens, a scrub that
   * knows them) and puts the new tokens where the old ones were.
   */
  function oauthRetry(ctx: ProxyAccess, request: Rewritten, method: string): (() => Promise<{ ctx: ProxyAccess; request: Rewritten } | null>) | null {
    if (!idempotentMethods.has(method.toUpperCase())) return null;
    const used = [...ctx.held.values()].filter(({ secret, value }) => secret.type === 'oauth2' && value !== null && request.injected.has(secret.id));
    if (used.length === 0) return null;
    return async () => {
      for (const { secret, value } of used) await service.dropAccessToken(secret, value!.toString('utf8'));
      // Prepared again: the new tokens (obtained there, once) and a scrub that knows them.
      const next = await service.prepare(ctx.caller, ctx.destination, ctx.tls, ctx.request);
      if (next.stopped) return null;
      let again = request;
      for (const { secret, value } of used) {
        const fresh = [...next.held.values()].find((h) => h.secret.id === secret.id)?.value;
        if (!fresh) return null;
        again = replaceInjected(again, value!, fresh);
      }
      return { ctx: next, request: again };
    };
  }

  /** Where and how to dial a destination over HTTP/2, and the key its ALPN answer is kept under. */
  function h2Route(destination: Destination) {
    const target = upstreams.target(destination.host, destination.port);
    return { target: { ...target, servername: destination.isIp ? undefined : destination.host }, key: formatAuthority(destination, 443) };
  }

  /** An HTTP/2 agent's request goes on the agent's HTTP/2 session to the upstream. */
  async function forwardOnH2(req: Http2ServerRequest, res: Http2ServerResponse, ctx: ProxyAccess, request: Rewritten, scrub: CompiledScrub | null) {
    const tunnel = req.stream.session && h2Tunnels.get(req.stream.session);
    if (!tunnel) return sendError(res, 'proxy_bad_request');
    const route = h2Route(ctx.destination);
    const session = await upstreams.h2.session(tunnel, ctx.caller.agentId, route.target, route.key);
    if (!session || session.closed || session.destroyed) return sendError(res, 'upstream_failed');
    const retry = Buffer.isBuffer(request.body) || request.body === null ? oauthRetry(ctx, request, req.method) : null;
    forwardH2({
      req,
      res,
      request,
      scrub,
      session,
      idleTimeoutMs: limits.idleTimeoutMs,
      ...(metrics && { headReceived: (seconds: number) => metrics.upstreamHead(seconds) }),
      debug: (obj, msg) => logger.debug(obj, msg),
      failed: (err) => {
        logger.warn({ agent_id: ctx.caller.agentId, host: ctx.destination.host, code: err.code }, 'upstream error');
        sendError(res, 'upstream_failed');
      },
      blocked: (reason) => {
        refuse(ctx, res, reason, { secret: request.blockedBy.secret }).catch((auditErr: unknown) => {
          logger.error({ err: auditErr }, 'audit of a blocked request failed');
          sendError(res, 'internal');
        });
      },
      unrelayable: () => sendError(res, 'upstream_failed'),
      // SPEC §10's retry after a 401, as forward() does for HTTP/1.1: only a body held whole (or none) can be resent.
      ...(retry && {
        retry: async () => {
          const next = await retry();
          return next && { request: next.request, scrub: responseScrub(ownEchoScrub(next.request), next.ctx.echo) };
        },
      }),
    });
  }

  /** Offered to the client by ALPN only when the upstream itself speaks h2 (else gRPC could not be served). */
  async function alpnFor(caller: AgentCaller, destination: Destination): Promise<string[]> {
    const route = h2Route(destination);
    if (!upstreams.literalAllowed(route.target.host)) return ['http/1.1'];
    return (await upstreams.h2.speaksH2(caller.agentId, route.target, route.key)) ? ['h2', 'http/1.1'] : ['http/1.1'];
  }

  // HTTP/2 sessions inside intercepted tunnels: streams are independent, so no turn-taking.
  const innerH2 = createH2TunnelServer(limits, logger, (req, res) => {
    ownExchange(req, res);
    const info = req.stream.session && h2Tunnels.get(req.stream.session);
    if (!info) return sendError(res, 'proxy_bad_request');
    void handleH2Request(req, res, info).catch((err: unknown) => failed(res, err, 'proxy request failed'));
  });

  // A session's tunnel: Node creates the session, synchronously, inside the emit of 'connection'.
  const h2Tunnels = new WeakMap<Http2Session, TunnelInfo>();
  let attaching: TunnelInfo | null = null;
  innerH2.on('session', (session: Http2Session) => attaching && h2Tunnels.set(session, attaching));

  async function handleH2Request(req: Http2ServerRequest, res: Http2ServerResponse, info: TunnelInfo) {
    // A stream the client already reset costs nothing more: opening and cancelling streams by the
    // hundred (rapid reset) must not queue a store read and a decryption for each.
    const gone = () => res.stream.closed || res.stream.destroyed;
    if (gone()) return;
    const check = checkH2Request(req, info.destination);
    if (check) return refuse(info, res, check);
    const caller = await tunnelCaller(info, req);
    if (!caller) return sendError(res, 'proxy_auth_required');
    if (gone()) return;
    await forward(req, res, caller, info.destination, true, req.headers[':path'] ?? '/', info.authority);
  }

  // Requests inside intercepted tunnels. The TLS socket carries the tunnel's identity.
  const inner = http.createServer({ ...httpServerOptions(limits), requireHostHeader: true }, (req, res) => {
    ownExchange(req, res);
    const info = tunnels.get(req.socket);
    if (!info) return sendError(res, 'proxy_bad_request');
    info.timers?.requestStarted(req, res);
    void inTurn(req, res, () => handleTunnelRequest(req, res, info)).catch((err: unknown) => failed(res, err, 'proxy request failed'));
  });

  // Node re-arms a socket's timeout with this between requests; keep it the idle limit.
  inner.setTimeout(limits.idleTimeoutMs);

  // `Upgrade:` requests inside a tunnel: WebSocket is relayed frame by frame, anything else refused.
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A response on the raw socket, so refusals and a non-101 answer take the ordinary paths.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => socket.end());
    ownExchange(req, res);
    const info = tunnels.get(req.socket);
    if (!info) return sendError(res, 'proxy_bad_request');
    info.timers?.upgraded();
    void handleTunnelUpgrade(req, res, socket, head, info).catch((err: unknown) => failed(res, err, 'proxy upgrade failed'));
  });

  async function handleTunnelUpgrade(req: IncomingMessage, res: ServerResponse, socket: Duplex, head: Buffer, info: TunnelInfo) {
    const check = checkTunnelRequest(req, info.destination, { upgrade: true });
    if (check) return refuse(info, res, check);
    const caller = await tunnelCaller(info, req);
    if (!caller) return sendError(res, 'proxy_auth_required', undefined, { connection: 'close' });
    const line = { method: req.method ?? 'GET', target: req.url ?? '/' };
    const ctx = await service.prepare(caller, info.destination, true, line);
    if (ctx.stopped) return refuse(ctx, res, 'agent is stopped', { code: 'agent_stopped', message: errorTable.agent_stopped.message });
    if (!isWebSocketUpgrade(req)) return refuse(ctx, res, 'only WebSocket upgrades are supported');
    await relayWebSocket({
      req,
      res,
      socket,
      head,
      ctx,
      audits: service,
      authority: info.authority,
      upstreams,
      limits,
      logger,
      refuse: (reason, o) => refuse(ctx, res, reason, o),
      // Each frame carrying a placeholder re-checks the token and re-reads status and values, as a request would.
      refresh: async () => {
        const again = await tunnelCaller(info, req);
        return again ? service.prepare(again, info.destination, true, line) : null;
      },
    });
  }

  async function handleTunnelRequest(req: IncomingMessage, res: ServerResponse, info: TunnelInfo) {
    const check = checkTunnelRequest(req, info.destination);
    if (check) return refuse(info, res, check);
    const caller = await tunnelCaller(info, req);
    if (!caller) return sendError(res, 'proxy_auth_required', undefined, { connection: 'close' });
    let path = req.url ?? '/';
    if (!path.startsWith('/')) path = new URL(path).pathname + new URL(path).search;
    await forward(req, res, caller, info.destination, true, path, info.authority);
  }

  const server = http.createServer(httpServerOptions(limits), (req, res) => {
    ownExchange(req, res);
    void inTurn(req, res, () => handlePlainRequest(req, res)).catch((err: unknown) => failed(res, err, 'proxy request failed'));
  });
  guardHttpServer(server, limits, logger, 'proxy');

  function throttled(address: string): { retryAfter: number; body: string } | null {
    const retryAfter = throttle.retryAfter(address);
    if (retryAfter === null) return null;
    const err = new VaultError('auth_throttled');
    return { retryAfter, body: JSON.stringify({ error: err.message, code: err.code }) };
  }

  async function handlePlainRequest(req: IncomingMessage, res: ServerResponse) {
    const address = req.socket.remoteAddress ?? '';
    const wait = throttled(address);
    if (wait) return sendError(res, 'auth_throttled', undefined, { 'retry-after': String(wait.retryAfter), connection: 'close' });
    const caller = await authenticate(address, req.headers['proxy-authorization'], req.headers['x-request-id']);
    if (!caller) return sendError(res, 'proxy_auth_required', undefined, { 'proxy-authenticate': 'Basic realm="vaultgate"' });
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return sendError(res, 'proxy_bad_request', 'the proxy needs an absolute http:// URL');
    }
    if (namesPlaceholder(url.host)) return sendError(res, 'proxy_blocked', await auditPlaceholderDestination(caller, url.host, 80), { connection: 'close' });
    if (url.protocol !== 'http:' || url.username || url.password) return sendError(res, 'proxy_bad_request', 'the proxy needs an absolute http:// URL; use CONNECT for https');
    const dest = parseAuthority(url.host, 80);
    if (!dest.ok) return sendError(res, 'proxy_bad_request', `bad destination: ${dest.reason}`);
    await forward(req, res, caller, dest, false, url.pathname + url.search, url.host);
  }

  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void handleConnect(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'CONNECT failed');
      socket.destroy();
    });
  });

  async function handleConnect(req: IncomingMessage, socket: Socket, head: Buffer) {
    // Node takes its own listeners off a socket before 'connect'; the guard's error listener stays.
    const address = socket.remoteAddress ?? '';
    const reject = (status: string, body: string, extra = '') => {
      if (!socket.destroyed) socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`);
    };
    const wait = throttled(address);
    if (wait) return reject('429 Too Many Requests', wait.body, `Retry-After: ${wait.retryAfter}\r\n`);
    const caller = await authenticate(address, req.headers['proxy-authorization'], req.headers['x-request-id']);
    if (!caller) return reject('407 Proxy Authentication Required', JSON.stringify({ error: 'proxy authentication required', code: 'proxy_auth_required' }), 'Proxy-Authenticate: Basic realm="vaultgate"\r\n');
    // Before anything else looks at the authority: no leaf is minted and no name resolved for it.
    if (namesPlaceholder(req.url ?? '')) {
      return reject('403 Forbidden', JSON.stringify({ error: await auditPlaceholderDestination(caller, req.url ?? '', 443), code: 'proxy_blocked' }));
    }
    const dest = parseAuthority(req.url ?? '', 443);
    if (!dest.ok || !/:\d+$/.test(req.url ?? '')) return reject('400 Bad Request', JSON.stringify({ error: 'bad CONNECT target', code: 'proxy_bad_request' }));
    const destination: Destination = { host: dest.host, port: dest.port, isIp: dest.isIp };
    const [context, alpn] = await Promise.all([contextFor(destination.host), alpnFor(caller, destination)]);
    if (socket.destroyed) return;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      // The server's order wins: h2 when both sides speak it.
      ALPNProtocols: alpn,
      // The CONNECT authority is the destination: a client naming another host in SNI is refused.
      SNICallback: (servername, cb) => {
        if (!sniMatches(servername, destination)) cb(new Error('SNI does not match the CONNECT host'));
        else cb(null, context);
      },
    });
    ownSocket(tlsSocket, logger, 'tunnel tls');
    // A handshake that fails, stalls or is abandoned must not keep the tunnel: Node only ends
    // (never closes) a wrapped socket whose peer leaves mid-handshake, which leaked the socket
    // and held the proxy's shutdown forever.
    let secured = false;
    const handshakeTimer = setTimeout(() => tlsSocket.destroy(), limits.handshakeTimeoutMs);
    handshakeTimer.unref();
    tlsSocket.once('secure', () => {
      secured = true;
      clearTimeout(handshakeTimer);
    });
    tlsSocket.once('end', () => {
      if (!secured) tlsSocket.destroy();
    });
    tlsSocket.once('close', () => {
      clearTimeout(handshakeTimer);
      socket.destroy();
    });
    const hostHeader = formatAuthority(destination, 443);
    const info: TunnelInfo = { caller, destination, authority: hostHeader, proxyAuthorization: req.headers['proxy-authorization'], address, timers: null };
    tunnels.set(tlsSocket, info);
    if (metrics) {
      metrics.tunnelOpened();
      tlsSocket.once('close', () => metrics.tunnelClosed());
    }
    tlsSocket.once('secure', () => {
      if (tlsSocket.alpnProtocol === 'h2') {
        // Node clears this flag only for sockets a TLS server accepted; an HTTP/2 session waits for
        // a 'secureConnect' that a hand-wrapped server socket never emits while it is still set.
        (tlsSocket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
        // The tunnel inherits the listener's half-open sockets, and a session only notices a
        // close: a client that just goes away (curl, httpx) would leave the session open forever.
        tlsSocket.once('end', () => tlsSocket.destroy());
        attaching = info;
        innerH2.emit('connection', tlsSocket);
        attaching = null;
        tlsSocket.once('close', () => upstreams.h2.release(info));
        return;
      }
      inner.emit('connection', tlsSocket);
      info.timers = startTunnelTimers(tlsSocket, limits);
    });
  }

  server.on('close', () => {
    inner.close();
    innerH2.close();
    upstreams.close();
  });
  return server;
}
