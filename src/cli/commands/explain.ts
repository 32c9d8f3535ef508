// `vaultgate explain`: what the proxy would do with one request of an agent, per placeholder in it (SPEC §10).
import type { Command } from 'commander';
import type { ExplainResponse } from '../../sdk/index.js';
import { operatorClient, resolveAgentId } from '../client.js';
import { UsageError } from '../errors.js';
import { collect, jsonCommand } from '../options.js';
import { alignRows, listText, printResult, writeOut } from '../output.js';

interface ExplainOptions {
  agent: string;
  request?: string;
  header?: string[];
  data?: string;
  json?: boolean;
}

/** `-H 'Name: value'` lines → the API's `{name: value}`; a name given twice keeps both values, comma-joined as HTTP does. */
export function parseHeaders(lines: readonly string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines ?? []) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    // The message names the rule, not the line: a header may hold a credential.
    if (name === '') throw new UsageError("-H must look like 'Name: value'");
    const value = line.slice(colon + 1).trim();
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return headers;
}

/** The human form: destination, then one line per placeholder, then what may be used there. */
export function explainText(r: ExplainResponse): string {
  const head = `destination: ${r.destination.host}:${r.destination.port}  (agent ${r.agent_status})\n`;
  const found =
    r.placeholders.length === 0
      ? 'placeholders: none in this request\n'
      : `placeholders:\n${alignRows(r.placeholders.map((p) => ['', p.env_key ?? '(not this agent’s)', p.surface, p.decision.toUpperCase(), p.reason]))}`;
  const available =
    r.available.length === 0 ? 'available here: none\n' : `available here:\n${alignRows(r.available.map((a) => ['', a.env_key, listText(a.surfaces)]))}`;
  return head + found + available;
}

export function registerExplainCommand(program: Command): void {
  jsonCommand(
    program
      .command('explain <url>')
      .description("what the proxy would do with this request of the agent: inject or block each placeholder in it, and why (nothing is sent)")
      .requiredOption('--agent <agent>', 'the agent (id or name)')
      .option('-X, --request <method>', 'the HTTP method (default GET, or POST with --data)')
      .option('-H, --header <line>', "a request header, 'Name: value' (repeatable)", collect)
      .option('--data <body>', 'the request body'),
    `vaultgate explain --agent researcher -H "Authorization: Bearer $STRIPE_KEY" https://api.stripe.com/v1/charges`,
    "vaultgate explain --agent researcher -X POST --data '{\"q\": 1}' https://api.example.com/v1/search --json",
  ).action(async (url: string, opts: ExplainOptions) => {
    const headers = parseHeaders(opts.header);
    const client = operatorClient();
    const agentId = await resolveAgentId(client, opts.agent);
    const result = await client.agents.explain(agentId, {
      method: opts.request ?? (opts.data !== undefined ? 'POST' : 'GET'),
      url,
      ...(opts.header ? { headers } : {}),
      ...(opts.data !== undefined ? { body: opts.data } : {}),
    });
    printResult(opts.json, result, () => writeOut(explainText(result)));
  });
}
