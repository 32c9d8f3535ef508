// The environment of a command started by `vaultgate run`: the agent's env, its proxy, one CA bundle, the Node and Python hooks.
import { rootCertificates } from 'node:tls';
import { deploymentCaVariable, pythonPathWith, type PythonHook } from './python-hook.js';

/** Every variable through which common clients pick their CA bundle (DESIGN.md, Runtime). */
export const caTrustVariables = ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'DENO_CERT', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'] as const;

/** Operator credentials never reach the agent's process. */
const withheld = ['VAULTGATE_API_KEY', 'VAULTGATE_ADMIN_KEY', 'VAULTGATE_MASTER_KEY', 'VAULTGATE_AGENT_TOKEN'];

/** The bundled public roots plus the deployment CA, so hosts outside the proxy still verify. */
export function caBundle(deploymentCaPem: string): string {
  return `${[...rootCertificates, deploymentCaPem.trim()].join('\n')}\n`;
}

export interface ChildEnvInput {
  parent: NodeJS.ProcessEnv;
  agentEnv: Record<string, string>;
  proxyUrl: string;
  /** Hosts that bypass the proxy: the vault itself. */
  noProxy: string[];
  caBundlePath: string;
  preloadPath: string | null;
  /** sitecustomize.py's directory and the deployment CA file (see python-hook.ts). */
  pythonHook: PythonHook | null;
}

export function childEnvironment(input: ChildEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...input.parent };
  for (const name of withheld) delete env[name];
  Object.assign(env, input.agentEnv);
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) env[name] = input.proxyUrl;
  const noProxy = [...new Set([...input.noProxy, ...(input.parent.NO_PROXY ?? input.parent.no_proxy ?? '').split(',').map((s) => s.trim()).filter(Boolean)])].join(',');
  env.NO_PROXY = noProxy;
  env.no_proxy = noProxy;
  // These may already point elsewhere (CI machines set them): the bundle must win.
  for (const name of caTrustVariables) env[name] = input.caBundlePath;
  // Node 22.21+/24+ then proxy fetch and the global agents on their own; the preload says why
  // that never doubles the hop. Node 20 ignores it.
  env.NODE_USE_ENV_PROXY = '1';
  // NODE_OPTIONS and PYTHONPATH are extended, not replaced: the agent's env (or the parent's) keeps its entries.
  if (input.preloadPath) {
    const importFlag = `--import=${new URL(`file://${input.preloadPath}`).href}`;
    env.NODE_OPTIONS = [env.NODE_OPTIONS, importFlag].filter(Boolean).join(' ');
  }
  if (input.pythonHook) {
    env.PYTHONPATH = pythonPathWith(input.pythonHook.dir, env.PYTHONPATH);
    env[deploymentCaVariable] = input.pythonHook.caFile;
  }
  return env;
}
