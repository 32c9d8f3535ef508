// `vaultgate login` checks a URL and API key against the server, then saves them to a 0600 profile; `logout` removes it.
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { clientProfilePath, isHttpUrl, loadClientConfig } from '../../config.js';
import { createClient } from '../../sdk/index.js';
import { UsageError } from '../errors.js';
import { clientConfig, readProfile, writeProfile } from '../client.js';
import { addJson, example } from '../options.js';
import { printJson, writeErr, writeOut } from '../output.js';
import { promptHidden, promptLine, readStdin, stdinIsTerminal } from '../values.js';

async function askUrl(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  let current: string;
  try {
    current = clientConfig().url;
  } catch {
    current = loadClientConfig(undefined, {}).url; // an unreadable profile is about to be replaced
  }
  if (!stdinIsTerminal()) return current;
  const answer = (await promptLine(`Vaultgate URL [${current}]: `)).trim();
  return answer === '' ? current : answer;
}

async function askKey(): Promise<string> {
  const text = stdinIsTerminal() ? await promptHidden('API key (input hidden): ') : await readStdin();
  const key = text.trim();
  if (key === '') throw new UsageError('no API key given: type it at the prompt or pipe it on stdin');
  if (/\s/.test(key)) throw new UsageError('an API key is one word; give only the key on stdin');
  return key;
}

export function registerLoginCommand(program: Command): void {
  const login = addJson(
    program
      .command('login')
      .description(`save the API URL and key to a profile (mode 0600) that client commands use; VAULTGATE_URL and VAULTGATE_API_KEY override it`)
      .option('--url <url>', 'the API URL (else asked, or the current one when stdin is not a terminal)'),
  );
  example(login, 'vaultgate login                                          # asks for the URL and the key', 'vaultgate login --url https://vault.example.com < key.txt').action(async (opts: { url?: string; json?: boolean }) => {
    const url = (await askUrl(opts.url)).replace(/\/+$/, '');
    if (!isHttpUrl(url)) throw new UsageError('the URL must start with http:// or https://');
    const apiKey = await askKey();
    // A key that does not work is not saved: 401 exits 3, an unreachable URL exits 7.
    await createClient({ url, apiKey }).vaults.list({ limit: 1 });
    const path = writeProfile({ url, apiKey }, clientProfilePath());
    if (opts.json) printJson({ url, profile: path });
    else writeOut(`logged in to ${url}; profile saved to ${path}\n`);
    const env = loadClientConfig(undefined, {});
    if (env.apiKey !== undefined) writeErr('vaultgate: note: VAULTGATE_API_KEY is set and overrides the saved key\n');
  });
}

/** The URL a profile names, or null when it names none or cannot be read (a corrupt profile is removed all the same). */
function profileUrl(path: string): string | null {
  try {
    return readProfile(path).url ?? null;
  } catch {
    return null;
  }
}

export function registerLogoutCommand(program: Command): void {
  const logout = addJson(program.command('logout').description('remove the profile `vaultgate login` saved (its URL and API key)'));
  example(logout, 'vaultgate logout').action((opts: { json?: boolean }) => {
    const path = clientProfilePath();
    const removed = existsSync(path);
    const url = removed ? profileUrl(path) : null;
    if (removed) rmSync(path, { force: true });
    if (opts.json) printJson({ removed, profile: path, url });
    else if (removed) writeOut(`logged out${url === null ? '' : ` of ${url}`}; removed the saved URL and API key (${path})\n`);
    else writeErr(`vaultgate: not logged in: there is no profile at ${path}\n`);
    if (envKeySet()) writeErr('vaultgate: note: VAULTGATE_API_KEY is still set in this environment, and commands keep using it\n');
  });
}

function envKeySet(): boolean {
  try {
    return loadClientConfig(undefined, {}).apiKey !== undefined;
  } catch {
    return false; // a malformed VAULTGATE_URL is no concern of logout
  }
}
