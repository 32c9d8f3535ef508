// `vaultgate audit tail [--follow] | verify`: the hash-chained audit log.
import type { Command } from 'commander';
import type { AuditEvent, AuditFilter } from '../../sdk/index.js';
import { CliError } from '../errors.js';
import { operatorClient } from '../client.js';
import { example, jsonCommand, parseCount } from '../options.js';
import { printable, printJson, printResult, printTable, relativeTime, writeErr, writeOut } from '../output.js';

interface TailOptions {
  lines: number;
  after?: number;
  follow?: boolean;
  type?: string;
  actor?: string;
  secret?: string;
  json?: boolean;
}

const targetOf = (e: AuditEvent) => e.secret_id ?? e.agent_id ?? e.vault_id ?? e.target_id ?? '-';
const outcomeOf = (e: AuditEvent) => (e.reason ? `${e.outcome} (${e.reason})` : e.outcome);

/** A live event: fixed widths, absolute time (a streamed line never ages). */
function eventLine(e: AuditEvent): string {
  const cells = [String(e.seq).padEnd(6), e.time.padEnd(24), e.type.padEnd(18), e.actor.padEnd(30), targetOf(e).padEnd(30), outcomeOf(e)];
  return `${printable(cells.join('  ')).trimEnd()}\n`;
}

async function tail(opts: TailOptions): Promise<void> {
  const client = operatorClient();
  const filter: AuditFilter = {
    ...(opts.type !== undefined ? { type: opts.type } : {}),
    ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
    ...(opts.secret !== undefined ? { secret_id: opts.secret } : {}),
  };
  const listed = await client.audit.all({ ...filter, ...(opts.after !== undefined ? { after: opts.after } : {}) });
  const shown = opts.after !== undefined ? listed : listed.slice(Math.max(0, listed.length - opts.lines));
  // The stream starts right after the last event listed, so none is lost or shown twice in between.
  const last = listed.at(-1)?.seq ?? opts.after ?? 0;

  if (!opts.follow) {
    return printResult(opts.json, shown, () => printTable('events', ['SEQ', 'TIME', 'TYPE', 'ACTOR', 'TARGET', 'OUTCOME'], shown.map((e) => [String(e.seq), relativeTime(e.time), e.type, e.actor, targetOf(e), outcomeOf(e)])));
  }
  // Followed events are one line each: NDJSON with --json.
  const print = (e: AuditEvent) => writeOut(opts.json ? `${JSON.stringify(e)}\n` : eventLine(e));
  shown.forEach(print);
  let interrupted = false;
  let seen = last;
  for await (const event of client.audit.follow({
    ...filter,
    after: last,
    onDisconnect: (err) => {
      if (!interrupted) writeErr(`vaultgate: audit stream interrupted (${err.message}); reconnecting\n`);
      interrupted = true;
    },
    onReconnect: () => {
      writeErr(`vaultgate: audit stream resumed after seq ${seen}\n`);
      interrupted = false;
    },
  })) {
    seen = event.seq;
    print(event);
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  example(audit, 'vaultgate audit tail --follow --type secret.revealed', 'vaultgate audit verify');

  jsonCommand(
    audit
      .command('tail')
      .description('show the last events; with --follow, stream new ones (resuming after a dropped connection)')
      .option('-n, --lines <n>', 'how many recent events to show first', parseCount('--lines'), 20)
      .option('--after <seq>', 'show every event after this seq instead of the last --lines', parseCount('--after'))
      .option('-f, --follow', 'keep streaming new events (Ctrl-C to stop)')
      .option('--type <type>', 'only this event type, e.g. secret.revealed')
      .option('--actor <id>', 'only events of this actor (key_… or agt_…)')
      .option('--secret <secret_id>', 'only events about this secret'),
    'vaultgate audit tail -n 50',
    'vaultgate audit tail --follow --json | jq -c "select(.outcome != \\"success\\")"',
  ).action(async (opts: TailOptions) => tail(opts));

  jsonCommand(audit.command('verify').description("check the org's hash chain end to end (exit 1 if broken)").option('--expected-head <hash>', 'also check that the chain ends at this hash'), 'vaultgate audit verify', 'vaultgate audit verify --expected-head 3f1c…').action(async (opts: { expectedHead?: string; json?: boolean }) => {
    const result = await operatorClient().audit.verify(opts.expectedHead);
    if (opts.json) printJson(result);
    else if (result.ok) writeOut(`audit chain intact: ${result.events} events, head ${result.head ?? '-'} (seq ${result.head_seq})\n`);
    if (!result.ok) throw new CliError(`audit chain broken at seq ${result.broken_at ?? '?'}: ${result.reason ?? 'unknown reason'}`);
  });
}
