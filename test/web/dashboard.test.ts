// The dashboard in a real Chromium against a real server: the operator's whole path, and no value in the page.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtUiDir, startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumPath, haveChromium, launchBrowser, requireChromium, type Browser } from './browser.js';

if (!existsSync(join(builtUiDir, 'index.html'))) throw new Error(`${builtUiDir} has no index.html: run npm run build first`);

let n = 0;
/** A value that must never show up in the page unless revealed on purpose. */
const canary = (tag: string) => `CNRY-${tag}-${++n}-${Math.random().toString(36).slice(2, 12)}`;

/** The form's refusal when a secret would be unrestricted without the box ticked. */
const unconfirmed = 'No allowed domains: add one, or tick "Unrestricted" to deliver the real value to agents\' environments.';
/** Every secret write the page sends (create, update). */
const secretWrites = (page: Page): string[] => {
  const seen: string[] = [];
  page.on('request', (r) => /\/secrets(\/|$)/.test(new URL(r.url()).pathname) && ['POST', 'PATCH'].includes(r.method()) && seen.push(`${r.method()} ${new URL(r.url()).pathname}`));
  return seen;
};

/** Everything the page could hold a value in: its serialized DOM and both web storages. */
async function pageState(page: Page): Promise<string> {
  const storage = await page.evaluate('JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])');
  return `${await page.content()}\n${String(storage)}`;
}

async function signIn(page: Page, s: TestServer): Promise<void> {
  await page.goto(s.url);
  await page.getByLabel('API key').fill(s.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Vaults', level: 1 }).waitFor();
}

/** Elements that stick out of the window on the right: what a narrow window would have to scroll to. */
const overflowing = (page: Page) =>
  page.evaluate<string[]>(`document.documentElement.scrollWidth <= window.innerWidth ? [] : [...document.querySelectorAll('main *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((e) => e.outerHTML.slice(0, 120))`);

// Without Chromium the browser suite cannot run: CI (VAULTGATE_TEST_REQUIRE_BROWSER=1) fails here,
// a developer's machine without it skips the suite below. `.ci/run` installs Debian's chromium.
if (requireChromium && !haveChromium) throw new Error(`the dashboard suite needs Chromium at ${chromiumPath} (apt-get install chromium)`);

describe.skipIf(!haveChromium)('the dashboard in Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await startTestServer({ ui: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('an operator sets up a vault, secrets and an agent, and watches the agent live', { timeout: 60_000 }, async () => {
    const page = await browser.context.newPage();
    // The reveal's 30 s are counted on this clock; it runs in real time until fast-forwarded.
    await page.clock.install({ time: new Date() });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

    // A refused key shows the API's message and is not kept.
    await page.goto(s.url);
    await page.getByLabel('API key').fill('not-a-real-key-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('unauthorized');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    errors.length = 0; // the browser logs the refused request itself
    await signIn(page, s);
    expect(await page.evaluate('[sessionStorage.getItem("vaultgate.apiKey"), localStorage.length]')).toEqual([s.apiKey, 0]);

    // A vault.
    await page.getByLabel('Name', { exact: true }).fill('payments');
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('link', { name: 'payments' }).click();
    await page.getByRole('heading', { name: 'payments', level: 1 }).waitFor();

    // A secret: the value goes from the password field to the API and nowhere else.
    const value1 = canary('create');
    await page.getByLabel('Name (env_key)').fill('STRIPE_KEY');
    await page.getByLabel('Value', { exact: true }).fill(value1);
    await page.getByRole('textbox', { name: 'Allowed domains' }).fill('api.stripe.com');
    await page.getByLabel('Labels (optional)').fill('team=payments');
    await page.getByRole('button', { name: 'Create secret' }).click();
    const row = page.locator('tr[data-secret="STRIPE_KEY"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/STRIPE_KEY[\s\S]*api\.stripe\.com[\s\S]*header[\s\S]*v1[\s\S]*team=payments[\s\S]*just now/);
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('');
    expect(await pageState(page)).not.toContain(value1);

    // Rotate it: version 2, and the new value is nowhere either.
    await row.getByRole('link', { name: 'STRIPE_KEY' }).click();
    await expect.poll(() => page.getByTestId('secret-version').textContent()).toBe('v1');
    expect(await page.getByRole('button', { name: /^Reveal/ }).count()).toBe(0);
    const value2 = canary('rotate');
    await page.getByLabel('New value').fill(value2);
    await page.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => page.getByTestId('secret-version').textContent()).toBe('v2');
    await page.getByRole('cell', { name: 'v2', exact: true }).waitFor();
    expect(await pageState(page)).not.toMatch(new RegExp(`${value1}|${value2}`));

    // A revealable, unrestricted secret. No allowed domain and no tick: an error, and nothing is sent.
    await page.getByRole('link', { name: 'payments' }).click();
    const writes = secretWrites(page);
    const value3 = canary('reveal');
    await page.getByLabel('Name (env_key)').fill('GITHUB_TOKEN');
    await page.getByLabel('Value', { exact: true }).fill(value3);
    await page.getByLabel(/^Revealable/).check();
    expect(await page.getByText("Agents then hold the value itself, not a placeholder").isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Create secret' }).click();
    const newSecretForm = page.locator('form[aria-labelledby="new-secret-title"]');
    await expect.poll(() => newSecretForm.getByRole('alert').textContent()).toBe(unconfirmed);
    expect(writes).toEqual([]);
    expect((await s.call('GET', `/vaults/${(await s.call('GET', '/vaults')).json[0].id}/secrets`)).json.map((x: any) => x.env_key)).toEqual(['STRIPE_KEY']);
    // The value was cleared all the same; with the box ticked it goes.
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('');
    await page.getByLabel('Value', { exact: true }).fill(value3);
    await page.getByLabel(/^Unrestricted/).check();
    await page.getByRole('button', { name: 'Create secret' }).click();
    await expect.poll(() => writes.length).toBe(1);
    expect(await newSecretForm.getByRole('alert').count()).toBe(0);
    // Shown on an explicit click, gone from the page 30 s later.
    await page.getByRole('link', { name: 'GITHUB_TOKEN' }).click();
    expect(await pageState(page)).not.toContain(value3);
    await page.getByRole('button', { name: 'Reveal GITHUB_TOKEN' }).click();
    await expect.poll(() => page.getByTestId('revealed-value').textContent()).toBe(value3);
    // The same probe that finds no value elsewhere finds this one while it is shown.
    expect(await pageState(page)).toContain(value3);
    await page.clock.fastForward(29_000);
    expect(await page.getByTestId('revealed-value').count()).toBe(1);
    await page.clock.fastForward(2_000);
    await expect.poll(() => page.getByTestId('revealed-value').count()).toBe(0);
    expect(await pageState(page)).not.toContain(value3);
    const revealed = (await s.call('GET', '/audit?type=secret.revealed')).json;
    expect(revealed.map((e: any) => [e.details.env_key, e.outcome])).toEqual([['GITHUB_TOKEN', 'success']]);

    // An agent with the vault attached, deployed, with a token shown once.
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('Name').fill('researcher');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'researcher', level: 1 }).waitFor();
    await page.getByLabel('Attach a vault').selectOption({ label: 'payments' });
    await page.getByRole('button', { name: 'Attach', exact: true }).click();
    await page.getByRole('button', { name: 'Detach vault payments' }).waitFor();
    const environment = page.getByTestId('effective-environment');
    await expect.poll(() => environment.innerText()).toMatch(/GITHUB_TOKEN\s+value\s+attached vault[\s\S]*STRIPE_KEY\s+placeholder\s+attached vault/);
    // A new agent is stopped, and the page says so; next to Stop, what Stop does (the kill switch).
    const statusHelp = page.getByTestId('agent-status-help');
    expect(await statusHelp.textContent()).toBe('Stopped: this agent’s environment, secret reads and proxy requests are refused (403 agent_stopped, audited) from its next request on, on every node. Deploy lets it receive values again.');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    expect(await statusHelp.textContent()).toBe('Deployed: this agent receives values. Stop refuses its environment, secret reads and proxy requests from its next request on, on every node.');
    expect(await page.getByRole('button', { name: 'Stop' }).getAttribute('aria-describedby')).toBe('agent-status-help');
    await page.getByRole('button', { name: 'Mint a token' }).click();
    const token = String(await page.getByTestId('minted-token').textContent());
    expect(token).toMatch(/^vgat_/);
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    expect(await page.content()).not.toContain(token);
    const agent = (await s.call('GET', '/agents')).json[0];
    expect([agent.name, agent.status, agent.vault_ids.length]).toEqual(['researcher', 'deployed', 1]);

    // The vault in use cannot be deleted: the API's refusal, in the row.
    await page.getByRole('link', { name: 'Vaults' }).click();
    await page.getByRole('button', { name: 'Delete vault payments' }).click();
    await page.getByRole('button', { name: 'Delete vault', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('cannot delete vault: still attached to 1 deployed agent(s)');
    errors.length = 0; // the browser logs the refused request itself

    // The audit page, live: what the agent touches appears as it happens.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByTestId('stream-status').textContent()).toBe('Live');
    await page.locator('tr[data-type="secret.revealed"]').waitFor();
    await expect.poll(() => page.getByTestId('chain-verified').textContent()).toBe('intact');
    await page.getByLabel('Agent (as actor)').selectOption({ label: 'researcher' });
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByTestId('stream-status').textContent()).toBe('Live');
    await expect.poll(() => page.locator('tr[data-type="secret.revealed"]').count()).toBe(0);
    // An operator write (filtered out), then the agent reading a secret (shown), while the page is open.
    await s.call('POST', `/vaults/${agent.vault_ids[0]}/secrets`, { body: { env_key: 'LATE_ADDITION', value: canary('late') } });
    const read = await s.call('GET', `${s.url}/api/agent/v1/secrets/GITHUB_TOKEN`, { key: token });
    expect(read.status).toBe(200);
    const live = page.locator('tr[data-type="vault.accessed"]');
    await live.waitFor();
    expect(await live.innerText()).toMatch(/vault\.accessed\s+agent researcher\s+GITHUB_TOKEN · vault payments\s+success/);
    expect(await page.locator('tr[data-type="secret.created"]').count()).toBe(0);
    expect(await pageState(page)).not.toMatch(new RegExp(`${value1}|${value2}|${value3}|${token}`));

    // Sign-out forgets the key.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.reload();
    await page.getByLabel('API key').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the live audit survives a server restart: it reconnects with Last-Event-ID, losing and repeating nothing', async () => {
    const first = await startTestServer({ ui: true });
    const port = new URL(first.url).port;
    let second: TestServer | undefined;
    const page = await browser.context.newPage();
    const resumedAfter: string[] = [];
    page.on('request', (r) => r.url().includes('/audit/stream') && resumedAfter.push(r.headers()['last-event-id'] ?? 'none'));
    try {
      await signIn(page, first);
      await page.getByRole('link', { name: 'Audit log' }).click();
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toBe('Live');
      await first.call('POST', '/vaults', { body: { name: 'before-restart' } });
      await page.getByText('vault before-restart').waitFor();

      const lastSeen = String((await first.call('GET', '/audit/verify')).json.head_seq);
      await first.close({ keepData: true });
      await expect.poll(() => page.getByTestId('stream-status').textContent()).toBe('Connection lost, reconnecting…');
      second = await startTestServer({ ui: true, dataDir: first.dataDir, apiKey: first.apiKey, env: { VAULTGATE_API_ADDR: `127.0.0.1:${port}` } });
      // Written before the page reconnects: only resuming from the last seq seen brings it.
      await second.call('POST', '/vaults', { body: { name: 'after-restart' } });
      await page.getByText('vault after-restart').waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('stream-status').textContent()).toBe('Live');
      const seqs = await page.locator('[data-testid="audit-events"] tbody tr td:first-child').allTextContents();
      const expected = (await second.call('GET', '/audit')).json.map((e: any) => String(e.seq)).reverse();
      expect(seqs).toEqual(expected);
      // The first connection starts from the backlog; the ones after the drop resume after the last event shown.
      expect(resumedAfter.length).toBeGreaterThanOrEqual(2);
      expect(resumedAfter.at(-1)).toBe(lastSeen);
    } finally {
      await page.close();
      await second?.close();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });

  /** Every page kind, with the data the first test left behind. */
  async function pages(): Promise<string[]> {
    const vault = (await s.call('GET', '/vaults')).json[0];
    const secret = (await s.call('GET', `/vaults/${vault.id}/secrets`)).json[0];
    const agent = (await s.call('GET', '/agents')).json[0];
    return ['#/vaults', `#/vaults/${vault.id}`, `#/vaults/${vault.id}/secrets/${secret.id}`, '#/agents', `#/agents/${agent.id}`, '#/audit'];
  }

  it('works with the keyboard alone, every control labelled', async () => {
    const page = await browser.context.newPage();
    await page.goto(s.url);
    // The key field has focus on arrival; Tab reaches the button, Enter submits.
    await expect.poll(() => page.evaluate('document.activeElement.id')).toBe('api-key');
    await page.keyboard.type(s.apiKey);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Sign in');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vaults', level: 1 }).waitFor();
    // A new page puts focus on its title; the next Tab is the page's first control.
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Vaults');
    await page.keyboard.press('Tab');
    await page.keyboard.type('keyboard-made');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'keyboard-made' }).waitFor();
    // Back from the title: sign-out, the navigation, the brand, then the skip link.
    await page.reload();
    await page.getByRole('heading', { name: 'Vaults', level: 1 }).waitFor();
    const focusOrder: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Shift+Tab');
      focusOrder.push(String(await page.evaluate('document.activeElement.textContent')));
    }
    expect(focusOrder).toEqual(['Sign out', 'Audit log', 'Agents', 'Vaults', 'Vaultgate', 'Skip to content']);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Agents');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();

    for (const where of await pages()) {
      await page.goto(`${s.url}/${where}`);
      await page.locator('main h1').waitFor();
      await page.locator('main table').first().waitFor();
      const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map((el) => el.outerHTML)`);
      expect(unlabelled, where).toEqual([]);
    }
    await page.close();
  });

  it('editing a secret to remove its last domain needs the same tick', async () => {
    const vault = (await s.call('POST', '/vaults', { body: { name: 'edit-domains' } })).json;
    const secret = (await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'EDITED', value: canary('edit'), allowed_domains: ['api.example.com'] } })).json;
    const page = await browser.context.newPage();
    const writes = secretWrites(page);
    await signIn(page, s);
    await page.goto(`${s.url}/#/vaults/${vault.id}/secrets/${secret.id}`);
    const form = page.locator('form[aria-labelledby="settings-title"]');
    await form.waitFor();
    expect(await form.getByLabel(/^Unrestricted/).isChecked()).toBe(false);
    await form.getByRole('textbox', { name: 'Allowed domains' }).fill('');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toBe(unconfirmed);
    expect(writes).toEqual([]);
    expect((await s.call('GET', `/secrets/${secret.id}`)).json).toMatchObject({ allowed_domains: ['api.example.com'], version: 1 });

    await form.getByLabel(/^Unrestricted/).check();
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(async () => (await s.call('GET', `/secrets/${secret.id}`)).json.allowed_domains).toEqual([]);
    expect(writes).toEqual([`PATCH /api/public/v1/secrets/${secret.id}`]);
    // Already unrestricted: the box comes ticked, so other changes need no new confirmation.
    await expect.poll(() => form.getByLabel(/^Unrestricted/).isChecked()).toBe(true);
    await page.close();
  });

  it('creates an aws_sigv4 and an oauth2 secret with rules and a rate limit; no value in the page; the secret page edits them', { timeout: 60_000 }, async () => {
    const vault = (await s.call('POST', '/vaults', { body: { name: 'typed' } })).json;
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page, s);
    await page.goto(`${s.url}/#/vaults/${vault.id}`);
    await page.getByRole('heading', { name: 'typed', level: 1 }).waitFor();

    // AWS: the key pair in password fields, the signing scope, one rule, 100 a minute.
    const aws = { access_key_id: `AKIA${canary('k').replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`, secret_access_key: canary('aws-secret'), session_token: canary('aws-session') };
    await page.getByLabel('Type', { exact: true }).selectOption('aws_sigv4');
    await page.getByLabel('Name prefix (env_key)').fill('AWS');
    await page.getByLabel('Access key id').fill(aws.access_key_id);
    await page.getByLabel('Secret access key').fill(aws.secret_access_key);
    await page.getByLabel('Session token (optional)').fill(aws.session_token);
    await page.getByLabel('Regions').fill('eu-west-1, us-east-1');
    await page.getByLabel('Services').fill('s3');
    await page.getByRole('textbox', { name: 'Allowed domains' }).fill('*.amazonaws.com');
    expect(await page.getByRole('group', { name: 'Inject in' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Add a rule' }).click();
    await page.getByLabel('Rule 1 methods').fill('get, head');
    await page.getByLabel('Rule 1 paths').fill('/reports/**');
    await page.getByLabel('Requests').fill('100');
    await page.getByLabel('per', { exact: true }).selectOption('minute');
    await page.getByLabel(/^Revealable/).check();
    for (const f of ['Access key id', 'Secret access key']) expect(await page.getByLabel(f).getAttribute('type')).toBe('password');
    await page.getByRole('button', { name: 'Create secret' }).click();
    await page.locator('tr[data-secret="AWS"]').waitFor();
    const listed = async (envKey: string) => (await s.call('GET', `/vaults/${vault.id}/secrets`)).json.find((x: any) => x.env_key === envKey);
    const awsSecret = await listed('AWS');
    expect(awsSecret).toMatchObject({
      type: 'aws_sigv4',
      regions: ['eu-west-1', 'us-east-1'],
      services: ['s3'],
      allowed_domains: ['*.amazonaws.com'],
      rules: [{ methods: ['GET', 'HEAD'], paths: ['/reports/**'] }],
      rate_limit: { requests: 100, per: 'minute' },
    });
    expect((await s.call('POST', `/secrets/${awsSecret.id}/reveal`)).json.value).toEqual(aws);
    for (const f of ['Access key id', 'Secret access key', 'Session token (optional)']) expect(await page.getByLabel(f).count()).toBe(0);

    // OAuth 2: no rule, 5 a second.
    const oauth = { token_url: 'https://auth.example.com/oauth/token', client_id: 'crm-client', client_secret: canary('client-secret'), refresh_token: canary('refresh'), scopes: ['read', 'write'] };
    await page.getByLabel('Type', { exact: true }).selectOption('oauth2');
    await page.getByLabel('Name (env_key)').fill('CRM_TOKEN');
    await page.getByLabel('Token URL').fill(oauth.token_url);
    await page.getByLabel('Client id').fill(oauth.client_id);
    await page.getByLabel('Client secret (optional)').fill(oauth.client_secret);
    await page.getByLabel(/^Refresh token/).fill(oauth.refresh_token);
    await page.getByLabel('Scopes (optional)').fill('read write');
    await page.getByRole('textbox', { name: 'Allowed domains' }).fill('api.example.com\nauth.example.com');
    await page.getByLabel('Requests').fill('5');
    await page.getByLabel('per', { exact: true }).selectOption('second');
    await page.getByLabel(/^Revealable/).check();
    await page.getByRole('button', { name: 'Create secret' }).click();
    await page.locator('tr[data-secret="CRM_TOKEN"]').waitFor();
    const oauthSecret = await listed('CRM_TOKEN');
    expect(oauthSecret).toMatchObject({ type: 'oauth2', allowed_domains: ['api.example.com', 'auth.example.com'], inject_in: ['header'], rules: null, rate_limit: { requests: 5, per: 'second' } });
    expect(oauthSecret).not.toHaveProperty('regions');
    expect((await s.call('POST', `/secrets/${oauthSecret.id}/reveal`)).json.value).toEqual(oauth);
    const values = [aws.access_key_id, aws.secret_access_key, aws.session_token, oauth.client_secret, oauth.refresh_token];
    expect(await pageState(page)).not.toMatch(new RegExp(values.join('|')));

    // The secret page shows type, scope, rules and limit, and edits them (not the type).
    await page.goto(`${s.url}/#/vaults/${vault.id}/secrets/${awsSecret.id}`);
    await expect.poll(() => page.getByTestId('secret-type').textContent()).toBe('AWS SigV4');
    expect(await page.getByTestId('secret-regions').innerText()).toMatch(/eu-west-1\s+us-east-1/);
    expect(await page.getByTestId('secret-services').innerText()).toBe('s3');
    expect(await page.getByTestId('secret-rules').innerText()).toBe('GET, HEAD on /reports/**');
    expect(await page.getByTestId('secret-rate-limit').innerText()).toBe('100 per minute per agent');
    const settings = page.locator('form[aria-labelledby="settings-title"]');
    await settings.getByLabel('Services').fill('s3, sts');
    await settings.getByRole('button', { name: 'Remove rule 1' }).click();
    await settings.getByLabel('Requests').fill('');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByTestId('secret-version').textContent()).toBe('v2');
    expect((await s.call('GET', `/secrets/${awsSecret.id}`)).json).toMatchObject({ type: 'aws_sigv4', regions: ['eu-west-1', 'us-east-1'], services: ['s3', 'sts'], rules: null, rate_limit: null });
    expect(await page.getByLabel('Type', { exact: true }).count()).toBe(0);
    expect(await pageState(page)).not.toMatch(new RegExp(values.join('|')));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('"Test a request" on the agent page: an injected and a blocked placeholder, with their reasons', { timeout: 30_000 }, async () => {
    const vault = (await s.call('POST', '/vaults', { body: { name: 'explained' } })).json;
    const value = canary('explain');
    await s.call('POST', `/vaults/${vault.id}/secrets`, { body: { env_key: 'API_KEY', value, allowed_domains: ['api.example.com'], rules: [{ methods: ['GET'], paths: ['/v1/**'] }] } });
    const agent = (await s.call('POST', '/agents', { body: { name: 'tester', vault_ids: [vault.id] } })).json;
    await s.call('POST', `/agents/${agent.id}/deploy`);
    const token = (await s.call('POST', `/agents/${agent.id}/tokens`)).json.token;
    const placeholder: string = (await s.call('GET', `${s.url}/api/agent/v1/environment`, { key: token })).json.env.API_KEY;
    expect(placeholder).toMatch(/^vgph_/);

    const page = await browser.context.newPage();
    await signIn(page, s);
    await page.goto(`${s.url}/#/agents/${agent.id}`);
    const panel = page.locator('form[aria-labelledby="explain-title"]');
    await panel.getByLabel('URL').fill('https://api.example.com/v1/items?limit=3');
    await panel.getByLabel('Headers (optional)').fill(`Authorization: Bearer ${placeholder}\nAccept: application/json`);
    await panel.getByRole('button', { name: 'Explain' }).click();
    const rows = panel.getByTestId('explain-placeholders').locator('tbody tr');
    await expect.poll(() => rows.allInnerTexts()).toEqual(['API_KEY\theader\tinject\tallowed']);
    expect(await panel.getByTestId('explain-destination').textContent()).toBe('api.example.com:443');
    expect(await panel.getByTestId('explain-available').innerText()).toMatch(/API_KEY\s+header/);

    // Another host: blocked, and nothing available there. Then a POST, outside the rule.
    await panel.getByLabel('URL').fill('https://other.example.net/v1/items');
    await panel.getByRole('button', { name: 'Explain' }).click();
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringMatching(/^API_KEY\theader\tblock\thost: /)]);
    expect(await panel.getByText('None of this agent’s placeholders may be used here.').count()).toBe(1);
    await panel.getByLabel('URL').fill('https://api.example.com/v1/items');
    await panel.getByLabel('Method').selectOption('POST');
    await panel.getByRole('button', { name: 'Explain' }).click();
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringMatching(/^API_KEY\theader\tblock\trule: /)]);
    // A header line without a name: the form says which line, and sends nothing.
    await panel.getByLabel('Headers (optional)').fill('just text');
    await panel.getByRole('button', { name: 'Explain' }).click();
    await expect.poll(() => panel.getByRole('alert').textContent()).toBe('header line 1 must look like Name: value');
    expect(await pageState(page)).not.toContain(value);
    await page.close();
  });

  it('fits a narrow window without sideways scrolling', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, s);
    for (const where of await pages()) {
      await page.goto(`${s.url}/${where}`);
      await page.locator('main h1').waitFor();
      await page.locator('main table').first().waitFor();
      expect(await overflowing(page), where).toEqual([]);
    }
    await page.close();
  });
});
