// The Prometheus metrics of one Vaultgate instance (SPEC §11): its own registry, every name
// `vaultgate_`, and labels drawn from fixed sets only (never a host, a path, an id or a value).
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How one proxied request ended: see docs/operations.md. */
export type ProxyOutcome = 'injected' | 'passed' | 'blocked' | 'failed' | 'rejected';

/** Why the proxy refused a request, as one fixed word (the audit event holds the sentence). */
export const blockReasons = [
  'unknown_placeholder',
  'plain_http',
  'host',
  'surface',
  'credential_type',
  'rule_denied',
  'scope',
  'unavailable',
  'rate_limited',
  'agent_stopped',
  'destination',
  'other',
] as const;
export type BlockReason = (typeof blockReasons)[number];

export interface HttpMetrics {
  /** One answered API request: `route` is the router's pattern (never the URL), or `unmatched`. */
  answered(method: string, route: string, status: number, seconds: number): void;
}

export interface ProxyMetrics {
  request(outcome: ProxyOutcome): void;
  injected(surface: string): void;
  blocked(reason: BlockReason): void;
  /** Time from sending a request upstream to the upstream's response head. */
  upstreamHead(seconds: number): void;
  tunnelOpened(): void;
  tunnelClosed(): void;
  /** Per CONNECT: whether the TLS context for its host was already held. */
  certificateCache(hit: boolean): void;
  /** Reports the leaf certificate cache's size at each scrape. */
  watchLeafCache(size: () => number): void;
}

export interface AuditMetrics {
  appended(batchSize: number, seconds: number): void;
}

export interface Metrics {
  registry: Registry;
  contentType: string;
  http: HttpMetrics;
  proxy: ProxyMetrics;
  audit: AuditMetrics;
  authFailed: (surface: string) => void;
}

const prefix = 'vaultgate_';
const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  const registers = [registry];

  const httpRequests = new Counter({ name: `${prefix}http_requests_total`, help: 'API requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'] as const, registers });
  const httpDuration = new Histogram({ name: `${prefix}http_request_duration_seconds`, help: 'Time to answer an API request.', labelNames: ['method', 'route'] as const, buckets: latencyBuckets, registers });
  const proxyRequests = new Counter({ name: `${prefix}proxy_requests_total`, help: 'Requests through the egress proxy, by outcome.', labelNames: ['outcome'] as const, registers });
  const injections = new Counter({ name: `${prefix}proxy_injections_total`, help: 'Secret values injected, by surface (one per secret and surface of a request).', labelNames: ['surface'] as const, registers });
  const blocks = new Counter({ name: `${prefix}proxy_blocks_total`, help: 'Requests the proxy refused, by reason.', labelNames: ['reason'] as const, registers });
  const upstream = new Histogram({ name: `${prefix}proxy_upstream_duration_seconds`, help: "Time from sending a request upstream to the upstream's response head.", buckets: latencyBuckets, registers });
  const tunnels = new Gauge({ name: `${prefix}proxy_open_tunnels`, help: 'CONNECT tunnels open now.', registers });
  const cacheLookups = new Counter({ name: `${prefix}proxy_certificate_cache_total`, help: 'TLS contexts looked up per CONNECT, by result (hit or miss).', labelNames: ['result'] as const, registers });
  let leafCacheSize: () => number = () => 0;
  new Gauge({
    name: `${prefix}proxy_leaf_certificates`,
    help: 'Leaf certificates held in the cache.',
    registers,
    collect() {
      this.set(leafCacheSize());
    },
  });
  const appendDuration = new Histogram({ name: `${prefix}audit_append_duration_seconds`, help: 'Time to append (and commit) a batch of audit events.', buckets: latencyBuckets, registers });
  const appendBatch = new Histogram({ name: `${prefix}audit_append_batch_size`, help: 'Audit events per append.', buckets: [1, 2, 5, 10, 20, 50, 100, 500], registers });
  const authFailures = new Counter({ name: `${prefix}auth_failures_total`, help: 'Failed authentications, by surface (api, agent, proxy).', labelNames: ['surface'] as const, registers });

  for (const outcome of ['injected', 'passed', 'blocked', 'failed', 'rejected'] satisfies ProxyOutcome[]) proxyRequests.inc({ outcome }, 0);
  for (const surface of ['api', 'agent', 'proxy']) authFailures.inc({ surface }, 0);

  return {
    registry,
    contentType: registry.contentType,
    http: {
      answered(method, route, status, seconds) {
        const m = methods.has(method) ? method : 'OTHER';
        httpRequests.inc({ method: m, route, status: String(status) });
        httpDuration.observe({ method: m, route }, seconds);
      },
    },
    proxy: {
      request: (outcome) => proxyRequests.inc({ outcome }),
      injected: (surface) => injections.inc({ surface }),
      blocked: (reason) => blocks.inc({ reason }),
      upstreamHead: (seconds) => upstream.observe(seconds),
      tunnelOpened: () => tunnels.inc(),
      tunnelClosed: () => tunnels.dec(),
      certificateCache: (hit) => cacheLookups.inc({ result: hit ? 'hit' : 'miss' }),
      watchLeafCache(size) {
        leafCacheSize = size;
      },
    },
    audit: {
      appended(batchSize, seconds) {
        appendBatch.observe(batchSize);
        appendDuration.observe(seconds);
      },
    },
    authFailed: (surface) => authFailures.inc({ surface }),
  };
}

/** `append` timed into the audit metrics, failed appends included. */
export function timedAppend<T>(metrics: AuditMetrics, append: (drafts: T[]) => Promise<void>): (drafts: T[]) => Promise<void> {
  return async (drafts) => {
    const started = performance.now();
    try {
      await append(drafts);
    } finally {
      metrics.appended(drafts.length, (performance.now() - started) / 1000);
    }
  };
}
