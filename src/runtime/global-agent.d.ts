// Types for the part of `global-agent` (v3, untyped) that the Node preload uses.
declare module 'global-agent' {
  export interface GlobalProxyAgentOptions {
    /** Prefix of the proxy variables; '' reads the standard HTTP_PROXY, HTTPS_PROXY and NO_PROXY. */
    environmentVariableNamespace?: string;
    /** Replace the agent of every request, a caller's own included, not only the global one. */
    forceGlobalAgent?: boolean;
    socketConnectionTimeout?: number;
  }
  export interface ProxyController {
    HTTP_PROXY: string | null;
    HTTPS_PROXY: string | null;
    NO_PROXY: string | null;
  }
  export function createGlobalProxyAgent(options?: GlobalProxyAgentOptions): ProxyController;
}
