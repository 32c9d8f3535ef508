// The child's environment: proxy, CA variables, and the Node and Python hooks extending what the child would have had.
import { describe, expect, it } from 'vitest';
import { childEnvironment, type ChildEnvInput } from './child-env.js';

const base: ChildEnvInput = {
  parent: {},
  agentEnv: { STRIPE_KEY: 'vgph_placeholder' },
  proxyUrl: 'http://a:t@127.0.0.1:7401',
  noProxy: ['vault.internal'],
  caBundlePath: '/run/vg/ca-bundle.pem',
  preloadPath: '/opt/vaultgate/dist/runtime/node-proxy-preload.js',
  pythonHook: { dir: '/run/vg', caFile: '/run/vg/deployment-ca.pem' },
};
const importFlag = '--import=file:///opt/vaultgate/dist/runtime/node-proxy-preload.js';

describe('childEnvironment', () => {
  it.each([
    ['nothing set', {}, {}, '/run/vg', importFlag],
    ['the parent sets both', { PYTHONPATH: '/p/lib:/p/more', NODE_OPTIONS: '--inspect' }, {}, '/run/vg:/p/lib:/p/more', `--inspect ${importFlag}`],
    ["the agent's env wins over the parent's, and is kept", { PYTHONPATH: '/p', NODE_OPTIONS: '--inspect' }, { PYTHONPATH: '/a', NODE_OPTIONS: '--max-old-space-size=64' }, '/run/vg:/a', `--max-old-space-size=64 ${importFlag}`],
    ['an empty entry (the current directory) keeps its place', { PYTHONPATH: ':/p' }, {}, '/run/vg::/p', importFlag],
  ])('%s: the hooks go first (PYTHONPATH) or last (NODE_OPTIONS)', (_name, parent, agentEnv, pythonPath, nodeOptions) => {
    const env = childEnvironment({ ...base, parent, agentEnv: { ...base.agentEnv, ...agentEnv } });
    expect([env.PYTHONPATH, env.NODE_OPTIONS]).toEqual([pythonPath, nodeOptions]);
  });

  it('names the deployment CA file and asks Node for its env proxy; without hooks neither variable is touched', () => {
    const env = childEnvironment({ ...base, parent: { PYTHONPATH: '/p', NODE_OPTIONS: '--inspect' } });
    expect([env.VAULTGATE_CA_FILE, env.NODE_USE_ENV_PROXY, env.HTTPS_PROXY]).toEqual(['/run/vg/deployment-ca.pem', '1', base.proxyUrl]);
    const bare = childEnvironment({ ...base, parent: { PYTHONPATH: '/p', NODE_OPTIONS: '--inspect' }, preloadPath: null, pythonHook: null });
    expect([bare.PYTHONPATH, bare.NODE_OPTIONS, bare.VAULTGATE_CA_FILE]).toEqual(['/p', '--inspect', undefined]);
  });
});
