// Response scrubbing: every echoed secret value becomes its placeholder again, across any chunking.

/*
 * Rule (shared by the streaming scrubber and the reference): scan left to right; at each position
 * the longest value that matches there is replaced by its placeholder (ties: the first listed) and
 * scanning resumes after it; otherwise the byte passes through. One pass: a placeholder written
 * out is never scanned again. The streaming scrubber holds back only a tail that is still a proper
 * prefix of some value (so a match, or a longer match, may complete): at most maxValueLength-1 bytes.
 */

export type ScrubValue = { value: Buffer; placeholder: Buffer };

export interface Scrubber {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

const empty = Buffer.alloc(0);

function checked(values: readonly ScrubValue[]): readonly ScrubValue[] {
  for (const v of values) if (v.value.length === 0) throw new RangeError('scrub: values must be at least 1 byte');
  return values;
}

function joined(parts: Buffer[]): Buffer {
  if (parts.length === 0) return empty;
  if (parts.length === 1) return parts[0] as Buffer;
  return Buffer.concat(parts);
}

export function createScrubber(values: readonly ScrubValue[]): Scrubber {
  const list = checked(values).slice();
  if (list.length === 0) {
    return { push: (chunk) => chunk, end: () => empty };
  }
  const maxLength = Math.max(...list.map((v) => v.value.length));
  let pending: Buffer = empty;
  let ended = false;

  /** Earliest i in [from, to) where data[i..] is a proper prefix of some value. */
  function earliestPartial(data: Buffer, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const tail = data.length - i;
      for (const { value } of list) {
        if (value.length > tail && value[0] === data[i] && data.compare(value, 0, tail, i) === 0) return i;
      }
    }
    return -1;
  }

  function run(data: Buffer, final: boolean): Buffer {
    const parts: Buffer[] = [];
    const emit = (from: number, to: number): void => {
      if (to > from) parts.push(data.subarray(from, to));
    };
    pending = empty;
    // Next occurrence at or after `pos` of each value; -1 stays -1 (no later occurrence either).
    const next = list.map(() => -2);
    const windowStart = Math.max(0, data.length - maxLength + 1);
    let pos = 0;
    for (;;) {
      let at = -1;
      let best = -1;
      for (let k = 0; k < list.length; k++) {
        const value = (list[k] as ScrubValue).value;
        let n = next[k] as number;
        if (n === -2 || (n !== -1 && n < pos)) {
          n = data.indexOf(value, pos);
          next[k] = n;
        }
        if (n === -1) continue;
        if (at === -1 || n < at || (n === at && value.length > (list[best] as ScrubValue).value.length)) {
          at = n;
          best = k;
        }
      }
      if (!final && (at === -1 || at >= windowStart)) {
        const from = Math.max(pos, windowStart);
        const partial = earliestPartial(data, from, at === -1 ? data.length : at + 1);
        if (partial !== -1) {
          emit(pos, partial);
          pending = Buffer.from(data.subarray(partial));
          return joined(parts);
        }
      }
      if (at === -1) {
        emit(pos, data.length);
        return joined(parts);
      }
      const chosen = list[best] as ScrubValue;
      emit(pos, at);
      if (chosen.placeholder.length > 0) parts.push(chosen.placeholder);
      pos = at + chosen.value.length;
    }
  }

  return {
    push(chunk: Buffer): Buffer {
      if (ended) throw new Error('scrubber: push after end');
      if (chunk.length === 0) return empty;
      return run(pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk, false);
    },
    end(): Buffer {
      if (ended) return empty;
      ended = true;
      const out = run(pending, true);
      pending = empty;
      return out;
    },
  };
}

/** Whole-buffer reference implementation: a plain position-by-position scan. */
export function scrubAll(input: Buffer, values: readonly ScrubValue[]): Buffer {
  checked(values);
  const parts: Buffer[] = [];
  let last = 0;
  let i = 0;
  while (i < input.length) {
    let best: ScrubValue | null = null;
    for (const v of values) {
      const end = i + v.value.length;
      if (end <= input.length && input.subarray(i, end).equals(v.value) && (!best || v.value.length > best.value.length)) best = v;
    }
    if (best) {
      parts.push(input.subarray(last, i), best.placeholder);
      i += best.value.length;
      last = i;
    } else {
      i += 1;
    }
  }
  parts.push(input.subarray(last));
  return Buffer.concat(parts);
}
