// `npm run screenshots`: the dashboard's main pages at 1280×800 into docs/screenshots/ (not part of npm test).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser, type Browser } from './browser.js';
import { seedDemo, type DemoData } from './demo-data.js';

const out = join(repoRoot, 'docs/screenshots');
let s: TestServer;
let browser: Browser;
let demo: DemoData;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  s = await startTestServer({ ui: true, apiKey: 'vgk_demo_key_for_screenshots_only' });
  demo = await seedDemo(s);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

it('saves the main pages', async () => {
  const page = await browser.context.newPage();
  await page.goto(s.url);
  await page.getByLabel('API key').waitFor();
  await page.screenshot({ path: join(out, 'sign-in.png') });

  await page.getByLabel('API key').fill(s.apiKey);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Vaults', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'payments' }).waitFor();
  await page.screenshot({ path: join(out, 'vaults.png') });

  await page.goto(`${s.url}/#/vaults/${demo.payments.id}`);
  await page.getByRole('link', { name: 'STRIPE_KEY' }).waitFor();
  await page.screenshot({ path: join(out, 'secrets.png') });

  await page.goto(`${s.url}/#/vaults/${demo.research.id}/secrets/${demo.github.id}`);
  await page.getByRole('heading', { name: 'Version history' }).waitFor();
  await page.screenshot({ path: join(out, 'secret.png') });

  await page.goto(`${s.url}/#/agents/${demo.agent.id}`);
  await page.getByTestId('effective-environment').waitFor();
  await page.getByRole('button', { name: 'Mint a token' }).waitFor();
  await page.screenshot({ path: join(out, 'agent.png') });

  // "Test a request": the key in a header is injected; in the body of the same request it is not (the secret goes in headers only).
  const panel = page.locator('form[aria-labelledby="explain-title"]');
  await panel.getByLabel('URL').fill('https://api.stripe.com/v1/charges');
  await panel.getByLabel('Headers (optional)').fill(`Authorization: Bearer ${demo.stripePlaceholder}`);
  await panel.getByLabel('Body (optional)').fill(`key=${demo.stripePlaceholder}`);
  await panel.getByRole('button', { name: 'Explain' }).click();
  await panel.getByTestId('explain-placeholders').waitFor();
  await panel.scrollIntoViewIfNeeded();
  await panel.screenshot({ path: join(out, 'agent-explain.png') });

  await page.goto(`${s.url}/#/audit`);
  await page.getByTestId('audit-events').waitFor();
  await expect.poll(() => page.getByTestId('stream-status').textContent()).toBe('Live');
  await page.screenshot({ path: join(out, 'audit.png') });

  // The same vault in a phone-sized window: tables become stacked cards.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${s.url}/#/vaults/${demo.payments.id}`);
  await page.getByRole('link', { name: 'STRIPE_KEY' }).waitFor();
  await page.screenshot({ path: join(out, 'secrets-narrow.png') });
});
