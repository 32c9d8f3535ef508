// The proxy scenario's `sign` case (SPEC §10): the same GET through Vaultgate with a static header
// injected, with an AWS SigV4 signature made with placeholder credentials (Vaultgate signs it again
// with the real key), and with an OAuth2 placeholder (Vaultgate injects an access token it obtained
// from the token endpoint, cached): req/s and CPU µs per request of the three, interleaved in one run.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { must } from './agent-setup.mjs';
import { apiClient } from './servers.mjs';

class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

/** The access token the bench upstream's token endpoint hands out (bench/lib/proxy-upstream.mjs). */
export const benchAccessToken = 'bench-oauth-access-token-4f1d2c9b7e6a5d3c';

/** `GET https://host/path` signed for s3 in us-east-1 with `credentials`, at `date`: the Authorization and the headers it covers. */
async function sigv4Headers({ host, path, credentials, date }) {
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const request = new HttpRequest({ method: 'GET', protocol: 'https:', hostname: host, path, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  const signed = await signer.sign(request, { signingDate: date });
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

/**
 * Through the operator API of `vg`: one agent holding a static secret, an aws_sigv4 secret and an
 * oauth2 secret (token endpoint on `authHost`), all allowed for `host`. Returns one client spec per
 * side (headers as the agent's client sends them) and what the upstream must receive for each.
 */
export async function signSides({ vg, host, authHost, path, base }) {
  const api = vg.api;
  const vault = await must(api('POST', '/vaults', { name: 'bench-sign' }), 201, 'create vault');
  const staticValue = 'bench-static-value-0123456789abcdef0123';
  const aws = { access_key_id: 'AKIABENCHREAL0000001', secret_access_key: 'benchRealSecretKey/0123456789abcdefghijKLMN' };
  const secrets = [
    { env_key: 'API_KEY', value: staticValue, allowed_domains: [host] },
    { env_key: 'AWS', type: 'aws_sigv4', value: aws, regions: ['us-east-1'], services: ['s3'], allowed_domains: [host] },
    {
      env_key: 'OAUTH_TOKEN',
      type: 'oauth2',
      value: { token_url: `https://${authHost}/oauth/token`, client_id: 'bench-client', client_secret: 'bench-client-secret-0123456789' },
      allowed_domains: [host, authHost],
    },
  ];
  for (const s of secrets) await must(api('POST', `/vaults/${vault.id}/secrets`, s), 201, `create ${s.env_key}`);
  const agent = await must(api('POST', '/agents', { name: 'bench-sign-agent', vault_ids: [vault.id] }), 201, 'create agent');
  await must(api('POST', `/agents/${agent.id}/deploy`), 200, 'deploy agent');
  const token = (await must(api('POST', `/agents/${agent.id}/tokens`), 201, 'agent token')).token;
  const environment = await must(apiClient(`${vg.url}/api/agent/v1`, token)('GET', '/environment'), 200, 'agent environment');
  const { env } = environment;
  const url = new URL(environment.proxy_url);
  const proxy = { host: url.hostname, port: Number(url.port), auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` };

  // One date for the whole run: every request is the same, and Vaultgate signs each one again in full.
  const date = new Date();
  const placeholderCreds = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
  const sent = await sigv4Headers({ host, path, credentials: placeholderCreds, date });
  const expectedSigned = await sigv4Headers({ host, path, credentials: { accessKeyId: aws.access_key_id, secretAccessKey: aws.secret_access_key }, date });

  const spec = (headers) => ({ ...base, proxy, ca: environment.ca_certificate, headers });
  return {
    static: { key: 'vg_static', label: 'Vaultgate, static header', expect: `Bearer ${staticValue}`, spec: spec({ authorization: `Bearer ${env.API_KEY}` }) },
    sigv4: { key: 'vg_sigv4', label: 'Vaultgate, SigV4 re-signed', expect: expectedSigned.authorization, spec: spec(sent) },
    oauth2: { key: 'vg_oauth2', label: 'Vaultgate, OAuth2 token', expect: `Bearer ${benchAccessToken}`, spec: spec({ authorization: `Bearer ${env.OAUTH_TOKEN}` }) },
  };
}

/**
 * Keep-alive c=1 and c=32, the three sides interleaved (static, SigV4, OAuth2, static, …). Every
 * request must reach the upstream with the side's real credential (checked per run); the ratios are
 * per round against the static side of the same round.
 */
export async function signCase({ client, upstream, vg, proxyPort, host, authHost, path, base, rounds, duration, warmup, log }) {
  const { interleavedSides, perRound } = await import('./proxy-harness.mjs');
  const sides = await signSides({ vg, host, authHost, path, base });
  const list = [sides.static, sides.sigv4, sides.oauth2].map((s) => ({ ...s, proxyPid: vg.pid, proxyPort }));
  const out = { sides: Object.fromEntries(list.map((s) => [s.key, s.label])) };
  const mismatches = [];
  for (const c of [1, 32]) {
    log(`proxy: sign case, keep-alive c=${c}: ${rounds} rounds × ${duration}s, interleaved ${list.map((s) => s.key).join(', ')}`);
    const onRun = (key, r) => {
      if (r.upstream_expected_value !== r.upstream_requests || r.upstream_other > 0 || r.upstream_placeholder > 0) mismatches.push({ key, c, upstream: { requests: r.upstream_requests, expected: r.upstream_expected_value, placeholder: r.upstream_placeholder, other: r.upstream_other } });
    };
    const res = await interleavedSides({ client, upstream, sides: list, mode: 'keepalive', conns: c, rounds, duration, warmup, log, label: `sign c=${c}`, onRun });
    for (const s of list) out[`${s.key}_c${c}`] = res.summaries[s.key];
    const rps = (a, b) => (a.rps > 0 ? b.rps / a.rps : null);
    const cpu = (a, b) => (a.cpu_us_per_req > 0 ? b.cpu_us_per_req / a.cpu_us_per_req : null);
    out[`sigv4_vs_static_c${c}`] = { rps: perRound(res.runs.vg_static, res.runs.vg_sigv4, rps), cpu: perRound(res.runs.vg_static, res.runs.vg_sigv4, cpu) };
    out[`oauth2_vs_static_c${c}`] = { rps: perRound(res.runs.vg_static, res.runs.vg_oauth2, rps), cpu: perRound(res.runs.vg_static, res.runs.vg_oauth2, cpu) };
  }
  out.upstream_mismatches = mismatches;
  if (mismatches.length > 0) throw new Error(`sign case: the upstream did not receive the real credential every time: ${JSON.stringify(mismatches.slice(0, 3))}`);
  return out;
}
