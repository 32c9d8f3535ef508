// Request rules (rows of methods + paths) and the rate limit of a secret, for its create and edit forms.
import { useRef, useState } from 'react';
import type { RateLimit, RatePeriod, RequestRule } from '../../../src/sdk/index.js';
import { parseList } from '../format.js';

const periods: readonly RatePeriod[] = ['second', 'minute', 'hour'];

interface Row {
  key: number;
  methods: string;
  paths: string;
}

/** Rows of the editor; their inputs are named `rule_methods` / `rule_paths`, read in order by `rulesFrom`. */
export function RulesEditor({ idPrefix, defaultValue }: { idPrefix: string; defaultValue?: RequestRule[] | null }) {
  const next = useRef(0);
  const row = (r?: RequestRule): Row => ({ key: next.current++, methods: r?.methods?.join(', ') ?? '', paths: r?.paths?.join('\n') ?? '' });
  const [rows, setRows] = useState<Row[]>(() => (defaultValue ?? []).map(row));
  return (
    <fieldset className="field grow rules">
      <legend>Request rules</legend>
      <p className="help" id={`${idPrefix}-help`}>
        Without rules any request to an allowed domain may carry the secret. With rules, it must match one: methods (e.g. GET, HEAD; empty: any) and path patterns,
        one per line (<code>*</code> one segment, <code>**</code> any; empty: any).
      </p>
      {rows.map((r, i) => (
        <div className="rule-row" key={r.key} data-testid="rule-row">
          <input name="rule_methods" defaultValue={r.methods} aria-label={`Rule ${i + 1} methods`} placeholder="GET, HEAD" spellCheck={false} autoComplete="off" />
          <textarea name="rule_paths" defaultValue={r.paths} aria-label={`Rule ${i + 1} paths`} rows={1} placeholder="/v1/charges/**" spellCheck={false} />
          <button type="button" className="button ghost small" aria-label={`Remove rule ${i + 1}`} onClick={() => setRows(rows.filter((x) => x.key !== r.key))}>
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="button secondary small" onClick={() => setRows([...rows, row()])} aria-describedby={`${idPrefix}-help`}>
          Add a rule
        </button>
      </div>
    </fieldset>
  );
}

/** The rules in the form: `null` (no rules) when there is no row, or every row is empty. */
export function rulesFrom(data: FormData): RequestRule[] | null {
  const methods = data.getAll('rule_methods').map((m) => parseList(String(m)).map((x) => x.toUpperCase()));
  const paths = data.getAll('rule_paths').map((p) => parseList(String(p)));
  const rules = methods
    .map((m, i) => ({ methods: m, paths: paths[i] ?? [] }))
    .filter((r) => r.methods.length > 0 || r.paths.length > 0)
    .map((r) => ({ ...(r.methods.length > 0 ? { methods: r.methods } : {}), ...(r.paths.length > 0 ? { paths: r.paths } : {}) }));
  return rules.length > 0 ? rules : null;
}

export function RateLimitField({ idPrefix, defaultValue }: { idPrefix: string; defaultValue?: RateLimit | null }) {
  return (
    <fieldset className="field rate-limit">
      <legend>Rate limit (per agent)</legend>
      <div className="inline-fields">
        <input
          id={`${idPrefix}-requests`}
          name="rate_requests"
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          defaultValue={defaultValue?.requests ?? ''}
          aria-label="Requests"
          placeholder="none"
          aria-describedby={`${idPrefix}-help`}
        />
        <label htmlFor={`${idPrefix}-per`}>per</label>
        <select id={`${idPrefix}-per`} name="rate_per" defaultValue={defaultValue?.per ?? 'minute'}>
          {periods.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </div>
      <p className="help" id={`${idPrefix}-help`}>
        Empty: no limit. Beyond it the proxy answers 429.
      </p>
    </fieldset>
  );
}

export function rateLimitFrom(data: FormData): RateLimit | null {
  const requests = String(data.get('rate_requests') ?? '').trim();
  if (requests === '') return null;
  return { requests: Number(requests), per: String(data.get('rate_per') ?? 'minute') as RatePeriod };
}
