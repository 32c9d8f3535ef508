// `vaultgate run`: start a command as an agent — its environment, the proxy, the CA — and supervise it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgentClient, type AgentEnvironment, type EnvironmentEntry } from '../sdk/index.js';
import { caBundle, childEnvironment } from './child-env.js';
import { writePythonHook } from './python-hook.js';
import { placeholderShape, plainEnvNames, realValueNames, realValuesNotice } from './real-values.js';

export interface RunOptions {
  url: string;
  token: string;
  command: string[];
  watch: boolean;
  /** How often `--watch` asks whether an unrestricted value changed. */
  watchIntervalMs?: number;
  /** After SIGTERM, how long a restarting child gets before SIGKILL. */
  graceMs?: number;
  parentEnv: NodeJS.ProcessEnv;
  onNotice?: (text: string) => void;
  /** The operator's view of the agent's environment (needs an operator key): tells its plain env from unrestricted secrets. */
  describeEnvironment?: () => Promise<EnvironmentEntry[]>;
}

const forwardedSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const preloadPath = fileURLToPath(new URL('./node-proxy-preload.js', import.meta.url));

/** Values in the environment (not placeholders) decide whether --watch must restart the child. */
function valuesOf(env: AgentEnvironment): string {
  return JSON.stringify(Object.entries(env.env).filter(([, v]) => !placeholderShape.test(v)));
}

/** Runs the command until it exits; resolves with the exit code to pass on (128+n for a signal). */
export async function runAsAgent(opts: RunOptions): Promise<number> {
  const agent = createAgentClient({ url: opts.url, token: opts.token });
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-run-'));
  const bundlePath = join(dir, 'ca-bundle.pem');
  const notice = opts.onNotice ?? (() => {});
  const vaultHost = new URL(opts.url).hostname.replace(/^\[|\]$/g, '');

  async function prepare(): Promise<{ env: NodeJS.ProcessEnv; snapshot: string; realValues: string | null }> {
    const environment = await agent.environment();
    writeFileSync(bundlePath, caBundle(environment.ca_certificate), { mode: 0o600 });
    const pythonHook = writePythonHook(dir, environment.ca_certificate);
    const env = childEnvironment({
      parent: opts.parentEnv,
      agentEnv: environment.env,
      proxyUrl: environment.proxy_url,
      noProxy: [vaultHost],
      caBundlePath: bundlePath,
      preloadPath,
      pythonHook,
    });
    // Without the operator's view (agent token only, or it failed) plain env counts as a real value too.
    const plain = opts.describeEnvironment ? await opts.describeEnvironment().then(plainEnvNames, () => null) : null;
    return { env, snapshot: valuesOf(environment), realValues: realValuesNotice(realValueNames(environment.env, env, plain), plain !== null) };
  }

  const [cmd, ...args] = opts.command;
  if (!cmd) throw new Error('no command given: vaultgate run [options] -- <command…>');

  let current = await prepare();
  let child: ChildProcess;
  let restarting = false;
  let stopped = false;

  const start = () => {
    if (current.realValues) notice(current.realValues);
    child = spawn(cmd, args, { stdio: 'inherit', env: current.env });
    // A command that cannot be started ends the run as a shell would: 127 not found, 126 not executable.
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (stopped) return;
      stopped = true;
      notice(`vaultgate run: cannot start ${cmd}: ${err.code ?? err.message}`);
      finish(err.code === 'ENOENT' ? 127 : 126);
    });
    return child;
  };
  const relay = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = forwardedSignals.map((s) => [s, relay(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);

  let timer: NodeJS.Timeout | null = null;
  if (opts.watch) {
    let fingerprint = (await agent.fingerprint()).fingerprint;
    const poll = async () => {
      if (stopped || restarting) return;
      try {
        // The fingerprint names no value and is not audited; the environment is fetched (and
        // audited) only when it changed.
        const now = (await agent.fingerprint()).fingerprint;
        if (now === fingerprint) return;
        fingerprint = now;
        const next = await prepare();
        if (next.snapshot === current.snapshot) return;
        restarting = true;
        notice('vaultgate run: a value changed; restarting the command');
        current = next;
        const old = child;
        const kill = setTimeout(() => old.kill('SIGKILL'), opts.graceMs ?? 5000);
        old.once('exit', () => {
          clearTimeout(kill);
          restarting = false;
          if (!stopped) start().on('exit', onExit);
        });
        old.kill('SIGTERM');
      } catch (err) {
        notice(`vaultgate run: cannot refresh the environment (${(err as Error).message})`);
      }
    };
    timer = setInterval(() => void poll(), opts.watchIntervalMs ?? 2000);
  }

  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  function onExit(code: number | null, signal: NodeJS.Signals | null) {
    if (restarting) return;
    stopped = true;
    finish(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
  }
  start().on('exit', onExit);

  try {
    return await done;
  } finally {
    if (timer) clearInterval(timer);
    for (const [s, h] of handlers) process.off(s, h);
    rmSync(dir, { recursive: true, force: true });
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return osConstants.signals[signal];
}
