// Which incoming request id and W3C trace context are kept (SPEC §11); anything else is replaced or ignored.

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** A header's one value: a repeated header is treated as absent. */
function single(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' ? header : undefined;
}

/** The incoming `X-Request-Id` when it is 1–128 characters of `[A-Za-z0-9._:-]`, else null (a new id is minted). */
export function keptRequestId(header: string | string[] | undefined): string | null {
  const value = single(header);
  return value !== undefined && requestIdPattern.test(value) ? value : null;
}

export interface TraceContext {
  trace_id: string;
  span_id: string;
}

/** A version-00 `traceparent` with non-zero ids, else null. */
export function traceContextOf(header: string | string[] | undefined): TraceContext | null {
  const match = traceparentPattern.exec(single(header) ?? '');
  if (!match?.[1] || !match[2] || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return null;
  return { trace_id: match[1], span_id: match[2] };
}
