// Preloaded into Node children of `vaultgate run` (NODE_OPTIONS=--import): sends the built-in fetch and
// node:http/node:https requests, whatever their agent, through HTTP(S)_PROXY, as curl and Python do on their own.
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { createGlobalProxyAgent } from 'global-agent';
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';

/*
 * NODE_USE_ENV_PROXY=1 is set too (Node 20 ignores it; Node 22.21+ and 24+ honour it). Why the two
 * mechanisms never send a request through the proxy twice:
 * - fetch: there is one global dispatcher slot (Symbol.for('undici.globalDispatcher.1'), shared by
 *   the built-in fetch and this undici). Node fills it with its own EnvHttpProxyAgent at startup,
 *   before `--import` modules run, and setGlobalDispatcher below replaces it; dispatchers are not
 *   chained, so each fetch goes through exactly one of them, which dials the proxy itself.
 * - node:http(s): in forced mode global-agent hands every proxied request to its own agent, which
 *   opens a plain TCP socket to the proxy (CONNECT for https, absolute-form for http); Node's
 *   proxy-aware globalAgent, and any `proxyEnv` agent a client made, is never asked to carry it.
 *   Only requests global-agent leaves alone (NO_PROXY) reach its fallback, the globalAgent Node
 *   made; that agent proxies at most once, and only if its NO_PROXY reading differs.
 * - axios and other clients that tunnel by themselves: their tunnelling agent is replaced the
 *   same way, and a request they already wrote in absolute form for the proxy is recognised by
 *   global-agent (it takes the destination from that URL), so it still makes one hop.
 */

/** undici flags EnvHttpProxyAgent as experimental; that notice is noise in the agent's stderr. */
function routeFetch(): void {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (() => {});
  try {
    setGlobalDispatcher(new EnvHttpProxyAgent());
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** node:http and node:https as patched here: both request functions of each take the same arguments. */
type RequestFn = (...args: unknown[]) => http.ClientRequest;
interface HttpModule { request: RequestFn; get: RequestFn; globalAgent: http.Agent }
type Options = Record<string, unknown>;

const optionsIndex = (args: unknown[]) => args.findIndex((a) => typeof a === 'object' && a !== null && !(a instanceof URL));

/**
 * A request over a Unix socket (`socketPath`) names no host a proxy could reach (global-agent would
 * send it as http://localhost/…), so it takes Node's own path, with the global agent Node made when
 * it names none. A caller's own `createConnection` to a host (the `ws` library dials TLS itself that
 * way) would bypass the proxy: it is dropped, and the proxy's agent makes the connection instead.
 */
function keepLocal(mod: HttpModule, proxied: RequestFn, direct: RequestFn, ownGlobalAgent: http.Agent): RequestFn {
  return (...args) => {
    const i = optionsIndex(args);
    const options = args[i] as Options | undefined;
    if (!options) return proxied(...args);
    if (!options.socketPath) {
      if (typeof options.createConnection === 'function') {
        const { createConnection: _own, ...rest } = options;
        args[i] = rest;
      }
      return proxied(...args);
    }
    if (options.agent === undefined || options.agent === mod.globalAgent) args[i] = { ...options, agent: ownGlobalAgent };
    return direct(...args);
  };
}

function routeNodeHttp(): void {
  const modules = [http, https] as unknown as HttpModule[];
  const own = modules.map((m) => ({ request: m.request, get: m.get, globalAgent: m.globalAgent }));
  // Forced: clients with their own agent (Stripe's keep-alive https.Agent, axios' tunnel) are proxied too.
  createGlobalProxyAgent({ environmentVariableNamespace: '', forceGlobalAgent: true });
  modules.forEach((m, i) => {
    const o = own[i]!;
    m.request = keepLocal(m, m.request, o.request, o.globalAgent);
    m.get = keepLocal(m, m.get, o.get, o.globalAgent);
  });
  // `import { request } from 'node:https'` reads ESM bindings, which follow the module only once synced.
  syncBuiltinESMExports();
}

routeFetch();
// Without a proxy variable (a grandchild whose environment was cleaned) forcing agents would only
// drop the caller's agent options. This file runs in the agent's process, where src/config.ts does not.
// eslint-disable-next-line no-restricted-properties -- the child's own environment, not Vaultgate's configuration
if (process.env.HTTPS_PROXY || process.env.HTTP_PROXY) routeNodeHttp();
