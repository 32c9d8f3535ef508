// Parent side of the proxy scenario: starting the upstream, the tunnel baseline, mitmproxy and
// Vaultgate (with its proxy settings), the pinned load client, and measuring runs and rounds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleaveSides, median, numberedRuns, summarize } from './measure.mjs';
import { makeTestPki } from './proxy-pki.mjs';
import { cpuCounters, cpuMicros, cpuTimes, freePort, pinned, sleep, socketPorts, spawnTracked, stealPercent, stopChild, ticksPerSecond, waitQuiet } from './proc.mjs';
import { LOADGEN_CPU, SERVER_CPU, startVaultgate } from './servers.mjs';

/** IPC request/response over a child's channel: every message gets an id, replies carry it. */
export function ipc(child, name) {
  const pending = new Map();
  let nextId = 1;
  child.on('message', (msg) => {
    const p = pending.get(msg?.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${name}: ${msg.error}`));
    else p.resolve(msg.result);
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
    pending.clear();
  });
  return (msg) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...msg, id });
    });
}

/** Resolves with the first stdout line that is JSON carrying `port`. */
function waitForPort(child, name, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not listen within ${timeoutMs} ms: ${out} ${err}`)), timeoutMs);
    child.stderr?.on('data', (d) => (err = (err + d).slice(-4000)));
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        try {
          const port = JSON.parse(line)?.port;
          if (port) {
            clearTimeout(timer);
            return resolve(port);
          }
        } catch {
          // not a JSON line
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}): ${out} ${err}`));
    });
  });
}

/** The HTTPS upstream (`script` in this directory: the proxy scenario's, or the sse scenario's), pinned beside the load generator. */
export async function startUpstream(pki, script = 'proxy-upstream.mjs') {
  const [cmd, args] = pinned(LOADGEN_CPU, process.execPath, [join(import.meta.dirname, script), pki.certFile, pki.keyFile]);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const port = await waitForPort(child, 'upstream');
  const call = ipc(child, 'upstream');
  return {
    name: 'upstream',
    pid: child.pid,
    port,
    expect: (authorization) => call({ cmd: 'expect', authorization }),
    reset: () => call({ cmd: 'reset' }),
    stats: () => call({ cmd: 'stats' }),
    track: () => call({ cmd: 'track' }),
    received: () => call({ cmd: 'received' }),
    stop: () => stopChild(child, 2000),
  };
}

/** The minimal CONNECT tunnel baseline, pinned like the subject. */
export async function startTunnel(connectTo) {
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [join(import.meta.dirname, 'proxy-tunnel.mjs')]);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TUNNEL_CONNECT_TO: connectTo } });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const port = await waitForPort(child, 'tunnel');
  return { name: 'tunnel', pid: child.pid, port, stop: () => stopChild(child, 2000) };
}

/**
 * Vaultgate as bench/lib/servers.mjs starts it (fresh data dir, pinned to the server CPU, log
 * level warn), with extra environment (the proxy settings). startVaultgate copies process.env
 * synchronously when it spawns, so the extra variables are set only around that call.
 */
export async function startVaultgateWithEnv(extraEnv, opts) {
  const saved = Object.fromEntries(Object.keys(extraEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extraEnv);
  try {
    return await startVaultgate(opts);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Environment that runs Vaultgate under the V8 sampling profiler (proxy-cpuprof.mjs) writing into `dir`; none without a dir. */
export function profilerEnv(dir) {
  return dir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(import.meta.dirname, 'proxy-cpuprof.mjs')}`.trim(), BENCH_CPU_PROF_DIR: dir } : {};
}

/**
 * A test PKI in `dir` for `hosts`, the upstream (`script`) answering for all of them, and Vaultgate
 * whose egress proxy sends those hosts to it (trusting the test CA, private addresses allowed) with
 * `env` besides; both registered with `keep` (proc.mjs withStarted). `connectTo`: the host mapping.
 */
export async function startProxiedPair({ keep, dir, hosts, script, env = {} }) {
  const pki = await makeTestPki(dir, hosts);
  const upstream = keep(await startUpstream(pki, script));
  const connectTo = hosts.map((h) => `${h}:443=127.0.0.1:${upstream.port}`).join(',');
  const proxyEnv = { VAULTGATE_PROXY_CONNECT_TO: connectTo, VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_PROXY_ALLOW_PRIVATE: '1' };
  const vg = keep(await startVaultgateWithEnv({ ...proxyEnv, ...env }, { logLevel: 'warn' }));
  return { pki, upstream, vg, connectTo };
}

const mitmAddon = `# Written by bench/lib/proxy-harness.mjs: route the bench host to the local upstream (TLS is
# still verified for the host's name) and replace the placeholder in headers, like Vaultgate.
import os

PLACEHOLDER = os.environ["BENCH_PLACEHOLDER"]
VALUE = os.environ["BENCH_VALUE"]
HOST = os.environ["BENCH_HOST"]
TARGET = (os.environ["BENCH_TARGET_HOST"], int(os.environ["BENCH_TARGET_PORT"]))


class Bench:
    def server_connect(self, data):
        if data.server.address and data.server.address[0] == HOST:
            data.server.address = TARGET

    def request(self, flow):
        for name, value in flow.request.headers.items():
            if PLACEHOLDER in value:
                flow.request.headers[name] = value.replace(PLACEHOLDER, VALUE)


addons = [Bench()]
`;

function commandPath(name) {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * mitmdump's path, or null. BENCH_MITM_BIN (for testing the bench itself) names the binary
 * instead of PATH; a path that does not exist simulates a machine without mitmproxy.
 */
function mitmdumpPath() {
  const override = process.env.BENCH_MITM_BIN;
  if (override) return existsSync(override) ? override : null;
  return commandPath('mitmdump');
}

const MITM_INSTALL_TIMEOUT_MS = 5 * 60_000;

/** Runs `cmd args` (output logged line by line) until it exits or `deadline`; never throws. */
function runLogged(cmd, args, { deadline, log }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    log(`proxy: mitmproxy: running \`${[cmd, ...args].join(' ')}\``);
    let child;
    try {
      child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch (err) {
      resolve({ code: null, signal: null, timedOut: false, output: String(err?.message ?? err), seconds: 0 });
      return;
    }
    let output = '';
    let partial = '';
    const onData = (d) => {
      output = (output + d).slice(-20_000);
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) if (line.trim()) log(`  apt: ${line.trimEnd()}`);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log(`proxy: mitmproxy: \`${cmd}\` still running at the ${MITM_INSTALL_TIMEOUT_MS / 60_000}-minute limit: sending SIGTERM`);
      child.kill('SIGTERM');
    }, Math.max(0, deadline - Date.now()));
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut: false, output: `${output}\n${err.message}`, seconds: Math.round((Date.now() - t0) / 100) / 10 });
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (partial.trim()) log(`  apt: ${partial.trimEnd()}`);
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      log(`proxy: mitmproxy: \`${cmd} ${args[0]}\` exited ${code ?? signal} after ${seconds} s`);
      resolve({ code, signal, timedOut, output, seconds });
    });
  });
}

/**
 * Makes sure mitmdump is there before the proxy scenario starts it. When it is missing and this
 * process runs as root with apt-get available, installs Debian's `mitmproxy` package (and only
 * that), running `apt-get update` first only if the install fails for lack of package lists; the
 * whole attempt is bounded by MITM_INSTALL_TIMEOUT_MS. Never throws.
 * Returns { bin, install: { status: 'preinstalled' | 'installed' | 'unavailable', … } }.
 */
export async function ensureMitmdump({ log }) {
  const found = mitmdumpPath();
  if (found) return { bin: found, install: { status: 'preinstalled', bin: found } };
  const why = process.env.BENCH_MITM_BIN ? `BENCH_MITM_BIN=${process.env.BENCH_MITM_BIN} does not exist` : 'mitmdump is not on PATH';
  const unavailable = (reason, extra = {}) => {
    log(`proxy: mitmproxy unavailable: ${reason}`);
    return { bin: null, install: { status: 'unavailable', reason, ...extra } };
  };
  if (process.getuid?.() !== 0) return unavailable(`${why} and the bench does not run as root, so it did not install Debian's mitmproxy package`);
  const aptGet = commandPath('apt-get');
  if (!aptGet) return unavailable(`${why} and apt-get is not available to install it`);
  const t0 = Date.now();
  const deadline = t0 + MITM_INSTALL_TIMEOUT_MS;
  const commands = [];
  try {
    log(`proxy: ${why}: installing Debian's mitmproxy package (at most ${MITM_INSTALL_TIMEOUT_MS / 60_000} minutes)`);
    const install = async () => {
      commands.push('apt-get install -y -q mitmproxy');
      return runLogged(aptGet, ['install', '-y', '-q', 'mitmproxy'], { deadline, log });
    };
    let r = await install();
    if (r.code !== 0 && !r.timedOut && /Unable to locate package|no installation candidate|has no installation candidate/i.test(r.output)) {
      commands.push('apt-get update -q');
      const u = await runLogged(aptGet, ['update', '-q'], { deadline, log });
      if (u.timedOut) r = u;
      else r = await install();
    }
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    const tail = r.output.trim().split('\n').slice(-3).join(' | ').slice(-400);
    if (r.timedOut) return unavailable(`${why}; installing it did not finish within ${MITM_INSTALL_TIMEOUT_MS / 60_000} minutes (stopped)`, { commands, seconds });
    if (r.code !== 0) return unavailable(`${why}; \`${commands.at(-1)}\` failed (exit ${r.code ?? r.signal}): ${tail}`, { commands, seconds });
    // Installed: the package's binary is on PATH (the test override is not consulted again).
    const bin = commandPath('mitmdump');
    if (!bin) return unavailable(`${why}; apt-get installed mitmproxy but mitmdump is still not on PATH`, { commands, seconds });
    const already = /mitmproxy is already the newest version/.test(r.output);
    log(`proxy: mitmproxy installed by the bench in ${seconds} s: ${bin}${already ? ' (apt-get reported the package as already installed)' : ''}`);
    return { bin, install: { status: 'installed', bin, commands, seconds, ...(already ? { apt_note: 'apt-get reported mitmproxy as already the newest version (the binary was missing or overridden)' } : {}) } };
  } catch (err) {
    return unavailable(`${why}; installing it failed: ${err?.message ?? err}`, { commands, seconds: Math.round((Date.now() - t0) / 100) / 10 });
  }
}

/**
 * mitmproxy (mitmdump, Debian) as the TLS-interception peer, pinned like the subject: its own CA
 * in a temp confdir, upstream verified against the test CA, placeholder replaced by an addon.
 * `bin`: mitmdump's path from ensureMitmdump. Returns { unavailable: reason } when it is missing
 * or does not start.
 */
export async function startMitmproxy({ bin, reason, dir, upstreamCaFile, host, target, placeholder, value }) {
  if (!bin) return { unavailable: reason ?? 'mitmdump not found (Debian package mitmproxy not installed on this machine)' };
  const version = (() => {
    try {
      return /Mitmproxy:\s*(\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? null;
    } catch {
      return null;
    }
  })();
  const addon = join(dir, 'proxy-mitm-addon.py');
  writeFileSync(addon, mitmAddon);
  const port = await freePort();
  const [cmd, args] = pinned(SERVER_CPU, bin, [
    '--quiet',
    '--listen-host', '127.0.0.1',
    '--listen-port', String(port),
    '--set', `confdir=${dir}`,
    '--set', `ssl_verify_upstream_trusted_ca=${upstreamCaFile}`,
    '--set', 'http2=false',
    '--set', 'termlog_verbosity=error',
    '-s', addon,
  ]);
  const env = { ...process.env, BENCH_PLACEHOLDER: placeholder, BENCH_VALUE: value, BENCH_HOST: host, BENCH_TARGET_HOST: target.host, BENCH_TARGET_PORT: String(target.port) };
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const caFile = join(dir, 'mitmproxy-ca-cert.pem');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return { unavailable: `mitmdump exited (${child.exitCode ?? child.signalCode}): ${err.trim().slice(-500)}` };
    if (existsSync(caFile) && establishedOn(child.pid, port, '0A') > 0) {
      return { name: 'mitmproxy', pid: child.pid, port, version, caPem: readFileSync(caFile, 'utf8'), stop: () => stopChild(child, 2000) };
    }
    await sleep(100);
  }
  await stopChild(child, 2000);
  return { unavailable: `mitmdump did not listen within 20 s: ${err.trim().slice(-500)}` };
}

/**
 * A long-lived child running `file` (in this directory), pinned to the load CPU, that sends
 * `{ ready: true }` first and then answers IPC requests: { pid, call, stop }.
 */
export async function startIpcChild(file, name) {
  const [cmd, args] = pinned(LOADGEN_CPU, process.execPath, [join(import.meta.dirname, file)]);
  const child = spawnTracked(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', (m) => (m?.ready ? resolve() : reject(new Error(`${name}: unexpected first message`))));
    child.once('exit', (code, signal) => reject(new Error(`${name} exited early (${code ?? signal})`)));
  });
  const call = ipc(child, name);
  return {
    pid: child.pid,
    call,
    async stop() {
      if (child.connected) child.send({ cmd: 'exit' });
      await stopChild(child, 2000);
    },
  };
}

/** The load client, one long-lived child pinned to the load CPU. */
export function startProxyClient() {
  return startIpcChild('proxy-client.mjs', 'load client');
}

/**
 * Sockets of `pid` in TCP state `state` (01 ESTABLISHED, 0A LISTEN) whose local port is `port`:
 * the server-side view of how many client connections a proxy holds.
 */
export function establishedOn(pid, port, state = '01') {
  return socketPorts(pid, state).filter((p) => p === port).length;
}

const cpuOf = (pid) => (pid ? cpuTimes(pid) : null);

/**
 * One measured run of `side` (keep-alive with `connections`, or new connection per request with
 * `concurrency`). CPU of the proxy (CPU 1), the upstream and the client, and the host counters
 * are read right before the load starts (after the keep-alive pool is open) and right after its
 * last response; the server-side connection count is sampled at ¼, ½ and ¾ of the run.
 */
export async function measureRun({ client, upstream, side, mode, conns, duration }) {
  // Sides that send different credentials (the sign case) each say what the upstream must receive.
  if (side.expect) await upstream.expect(side.expect);
  await upstream.reset();
  let prep = { connections_opened: 0, prepare_ok: 0 };
  if (mode === 'keepalive') prep = await client.call({ cmd: 'prepare', spec: { ...side.spec, connections: conns } });
  // Proxies: client connections they hold mid-run. Direct: the upstream's count would include
  // idle pooled connections from Vaultgate, so the upstream's accepted-TLS counter stands in.
  const samples = [];
  const timers = side.proxyPid ? [0.25, 0.5, 0.75].map((f) => setTimeout(() => samples.push(establishedOn(side.proxyPid, side.proxyPort)), duration * 1000 * f)) : [];
  const host0 = cpuCounters();
  const p0 = cpuOf(side.proxyPid);
  const u0 = cpuOf(upstream.pid);
  const g0 = cpuMicros(client.pid);
  const r =
    mode === 'keepalive'
      ? await client.call({ cmd: 'go', duration })
      : await client.call({ cmd: 'newconn', spec: { ...side.spec, concurrency: conns, duration } });
  const p1 = cpuOf(side.proxyPid);
  const u1 = cpuOf(upstream.pid);
  const g1 = cpuMicros(client.pid);
  const host1 = cpuCounters();
  for (const t of timers) clearTimeout(t);
  const up = await upstream.stats();
  if (mode === 'keepalive') await client.call({ cmd: 'close' });
  const drain_ms = await waitQuiet([side.proxyPid, upstream.pid]);

  const served = r.ok + r.late_ok; // every 2xx the CPU window paid for
  const per = (a, b) => (a && b && served > 0 ? (b.user + b.sys - a.user - a.sys) / served : null);
  const wallUs = duration * 1e6;
  const proxyCpu = p0 && p1 ? p1.user + p1.sys - p0.user - p0.sys : 0;
  const upCpu = u1.user + u1.sys - u0.user - u0.sys;
  const jiffyUs = 1e6 / ticksPerSecond();
  const hostBusyUs = (host1.busy - host0.busy) * jiffyUs;
  const hostTotalUs = (host1.total - host0.total) * jiffyUs;
  const proxyCpuPerReq = per(p0, p1);
  const upstreamCpuPerReq = per(u0, u1);
  return {
    rps: r.ok / duration,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    // The subject's CPU: the proxy's (CPU 1); for direct, the upstream's.
    cpu_us_per_req: side.proxyPid ? proxyCpuPerReq : upstreamCpuPerReq,
    cpu_sys_us_per_req: side.proxyPid ? (served > 0 ? (p1.sys - p0.sys) / served : null) : served > 0 ? (u1.sys - u0.sys) / served : null,
    upstream_cpu_us_per_req: upstreamCpuPerReq,
    ok: r.ok,
    late_ok: r.late_ok,
    prepare_ok: prep.prepare_ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: 0,
    status_codes: r.status_codes,
    error_samples: r.error_samples?.length ? r.error_samples : undefined,
    duration_s: duration,
    steal_pct: stealPercent(host0, host1),
    server_cpu_pct: (100 * (side.proxyPid ? proxyCpu : upCpu)) / wallUs,
    upstream_cpu_pct: (100 * upCpu) / wallUs,
    loadgen_cpu_pct: (100 * (g1 - g0)) / wallUs,
    other_cpu_pct: hostTotalUs > 0 ? Math.max(0, (100 * (hostBusyUs - proxyCpu - upCpu - (g1 - g0))) / hostTotalUs) : null,
    // Connections: opened by the client in prepare (keep-alive) and during the run, held by the
    // proxy mid-run, and new TLS connections the upstream accepted (prepare + run).
    client_connections_prepare: prep.connections_opened,
    client_connections_during_run: r.connections_opened_during_run,
    server_side_connections: samples,
    upstream_tls_connections: up.tls_connections,
    upstream_requests: up.requests,
    upstream_expected_value: up.expected,
    upstream_placeholder: up.placeholder,
    upstream_other: up.other,
    drain_ms,
  };
}

const metrics = ['rps', 'p50_ms', 'p99_ms', 'cpu_us_per_req', 'cpu_sys_us_per_req', 'upstream_cpu_us_per_req', 'server_cpu_pct', 'upstream_cpu_pct', 'loadgen_cpu_pct', 'other_cpu_pct'];

function caseSummary(runs, extra) {
  const kept = runs.filter((r) => !r.dropped);
  const out = { ...extra };
  for (const m of metrics) out[m] = summarize(kept.map((r) => r[m]));
  const sum = (k) => runs.reduce((a, r) => a + (r[k] ?? 0), 0);
  out.ok_total = sum('ok');
  out.non2xx_total = sum('non2xx');
  out.errors_total = sum('errors');
  out.timeouts_total = 0;
  const seen = runs.flatMap((r) => r.server_side_connections);
  out.server_side_connections = seen.length ? { min: Math.min(...seen), max: Math.max(...seen) } : null;
  out.client_connections_during_run_total = sum('client_connections_during_run');
  out.rounds_kept = kept.length;
  out.rounds_dropped = runs.length - kept.length;
  out.runs = numberedRuns(runs);
  return out;
}

/**
 * Interleaved rounds over several sides (A B C A B C …) after one warm-up run of each.
 * `onRun(sideKey, run, {warmup})` sees every run. Returns a case summary per side and the raw runs.
 */
export async function interleavedSides({ client, upstream, sides, mode, conns, rounds, duration, warmup, log, label, onRun = () => {} }) {
  const runs = await interleaveSides({
    sides,
    rounds,
    warmup: warmup > 0,
    measure: (side, isWarmup) => measureRun({ client, upstream, side, mode, conns, duration: isWarmup ? warmup : duration }),
    onRun,
    logRun: (r, round, side) =>
      log(
        `  ${label} round ${round}/${rounds} ${side.key.padEnd(9)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${fmt(r.p50_ms)} ms  p99 ${fmt(r.p99_ms)} ms  ` +
          `${fmt(r.cpu_us_per_req, 1).padStart(7)} µs/req  non2xx ${r.non2xx} err ${r.errors}${r.error_samples ? ` ${JSON.stringify(r.error_samples)}` : ''}  conns ${r.client_connections_prepare}+${r.client_connections_during_run} seen ${JSON.stringify(r.server_side_connections)} up-tls ${r.upstream_tls_connections}  ` +
          `cpu% srv ${r.server_cpu_pct.toFixed(0)} up ${r.upstream_cpu_pct.toFixed(0)} gen ${r.loadgen_cpu_pct.toFixed(0)} other ${fmt(r.other_cpu_pct, 0)}  steal ${r.steal_pct.toFixed(1)}%${r.dropped ? '  DROPPED' : ''}`,
      ),
  });
  const out = {};
  for (const side of sides) out[side.key] = caseSummary(runs[side.key], { connections: conns, mode });
  return { summaries: out, runs };
}

/** Per-round f(a, b) over rounds where both runs were kept → summary. */
export function perRound(runsA, runsB, f) {
  const xs = [];
  for (let i = 0; i < Math.min(runsA.length, runsB.length); i++) {
    const a = runsA[i];
    const b = runsB[i];
    if (a.dropped || b.dropped) continue;
    const v = f(a, b);
    if (typeof v === 'number' && Number.isFinite(v)) xs.push(v);
  }
  return summarize(xs);
}

export { median };

function fmt(x, digits = 2) {
  return typeof x === 'number' ? x.toFixed(digits) : '-';
}
