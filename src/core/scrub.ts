// Response scrubbing: every echoed secret value becomes its placeholder again, across any chunking.

/*
 * Rule (shared by the streaming scrubber and the reference): scan left to right; at each position
 * the longest value that matches there is replaced by its placeholder (ties: the first listed) and
 * scanning resumes after it; otherwise the byte passes through. One pass: a placeholder written
 * out is never scanned again. The streaming scrubber holds back only the tail that is still a
 * proper prefix of some value (the automaton state's depth): at most maxValueLength-1 bytes, plus
 * the bytes of a match found but not yet known to be the longest at its position.
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

/**
 * The values compiled once into one Aho-Corasick automaton over byte classes: a single pass over
 * the input finds every occurrence of every value (and every encoded form of it, which callers
 * add as further values), however many there are. Immutable, so one compiled set may serve many
 * responses at once.
 */
export interface CompiledScrub {
  /** A streaming scrubber for one body. */
  stream(): Scrubber;
  /** One whole buffer (a header, a reason phrase). */
  scrub(input: Buffer): Buffer;
  readonly size: number;
}

interface Automaton {
  classes: Uint8Array;
  width: number;
  /** Row offset of the next state (see buildAutomaton), per row offset and byte class. */
  next: Int32Array;
  /**
   * Per state: the length of the longest input suffix that is a proper prefix of some value (one
   * that can still grow into a match). Nothing before it can be part of a future match.
   */
  hold: Int32Array;
  /** Per state: the values that end here (own and via suffix links), as indexes; empty when none. */
  ends: number[][];
}

function buildAutomaton(list: readonly ScrubValue[]): Automaton {
  const classes = new Uint8Array(256);
  let width = 1;
  for (const { value } of list) for (const b of value) if (classes[b] === 0) classes[b] = width++;
  const gotos: Map<number, number>[] = [new Map<number, number>()];
  const depthList = [0];
  const own: number[][] = [[]];
  list.forEach(({ value }, index) => {
    let state = 0;
    for (const b of value) {
      const c = classes[b] as number;
      let to = gotos[state]!.get(c);
      if (to === undefined) {
        to = gotos.length;
        gotos.push(new Map());
        depthList.push(depthList[state]! + 1);
        own.push([]);
        gotos[state]!.set(c, to);
      }
      state = to;
    }
    own[state]!.push(index);
  });
  const count = gotos.length;
  const next = new Int32Array(count * width);
  const fail = new Int32Array(count);
  const ends: number[][] = own.map((o) => o.slice());
  const hold = new Int32Array(count);
  // Breadth first, so that a state's failure target is complete before the state itself.
  const queue: number[] = [];
  for (let c = 0; c < width; c++) {
    const to = gotos[0]!.get(c);
    if (to !== undefined) {
      next[c] = to;
      queue.push(to);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    const f = fail[state]!;
    if (ends[f]!.length > 0) ends[state] = [...ends[state]!, ...ends[f]!];
    hold[state] = gotos[state]!.size > 0 ? depthList[state]! : hold[f]!;
    for (let c = 0; c < width; c++) {
      const to = gotos[state]!.get(c);
      if (to === undefined) {
        next[state * width + c] = next[f * width + c]!;
      } else {
        fail[to] = next[f * width + c]!;
        next[state * width + c] = to;
        queue.push(to);
      }
    }
  }
  // Transitions hold the target's row offset (state × width), negated (minus one) when values end
  // there, so the scanning loop does one load and one sign test per byte.
  const table = new Int32Array(count * width);
  for (let i = 0; i < table.length; i++) {
    const to = next[i]!;
    table[i] = ends[to]!.length > 0 ? -(to * width) - 1 : to * width;
  }
  return { classes, width, next: table, hold, ends };
}

type Found = { start: number; end: number; index: number };

/** Leftmost first, then longest, then the first listed: the order in which matches are taken. */
const byRule = (a: Found, b: Found) => a.start - b.start || b.end - a.end || a.index - b.index;

export function compileScrub(values: readonly ScrubValue[]): CompiledScrub {
  const list = checked(values).slice();
  const auto = list.length > 0 ? buildAutomaton(list) : null;

  function stream(): Scrubber {
    if (!auto) return { push: (chunk) => chunk, end: () => empty };
    const { classes, width, next, hold, ends } = auto;
    let state = 0;
    /** Absolute position of pending[0]: everything before it has been emitted. */
    let base = 0;
    let pending: Buffer = empty;
    let found: Found[] = [];
    let ended = false;

    /** Emits what no future match can touch: up to `boundary`, replacing matches that start before it. */
    function settle(data: Buffer, boundary: number): Buffer {
      const parts: Buffer[] = [];
      let cursor = base;
      const later: Found[] = [];
      found.sort(byRule);
      for (const f of found) {
        if (f.start < cursor) continue;
        if (f.start >= boundary) {
          later.push(f);
          continue;
        }
        if (f.start > cursor) parts.push(data.subarray(cursor - base, f.start - base));
        const placeholder = list[f.index]!.placeholder;
        if (placeholder.length > 0) parts.push(placeholder);
        cursor = f.end;
      }
      const emitTo = Math.max(cursor, boundary);
      if (boundary > cursor) parts.push(data.subarray(cursor - base, boundary - base));
      found = later.filter((f) => f.start >= emitTo);
      pending = Buffer.from(data.subarray(emitTo - base));
      base = emitTo;
      return joined(parts);
    }

    return {
      push(chunk) {
        if (ended) throw new Error('scrubber: push after end');
        if (chunk.length === 0) return empty;
        const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
        const offset = base + pending.length;
        let row = state * width;
        for (let i = 0; i < chunk.length; i++) {
          row = next[row + classes[chunk[i]!]!]!;
          if (row >= 0) continue;
          row = -row - 1;
          const end = offset + i + 1;
          for (const index of ends[row / width]!) found.push({ start: end - list[index]!.value.length, end, index });
        }
        state = row / width;
        return settle(data, offset + chunk.length - hold[state]!);
      },
      end() {
        if (ended) return empty;
        ended = true;
        return settle(pending, base + pending.length);
      },
    };
  }

  return {
    stream,
    scrub(input) {
      const s = stream();
      const head = s.push(input);
      const tail = s.end();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    },
    size: list.length,
  };
}

/**
 * `first`, then `second`, over one input: what the first writes is what the second scans. Lets a
 * few per-request forms go in front of a compiled set without compiling the set again.
 */
export function chainScrubs(first: CompiledScrub, second: CompiledScrub): CompiledScrub {
  return {
    stream() {
      const a = first.stream();
      const b = second.stream();
      return {
        push: (chunk) => b.push(a.push(chunk)),
        end: () => {
          const head = b.push(a.end());
          const tail = b.end();
          return tail.length === 0 ? head : Buffer.concat([head, tail]);
        },
      };
    },
    scrub: (input) => second.scrub(first.scrub(input)),
    size: first.size + second.size,
  };
}

export function createScrubber(values: readonly ScrubValue[]): Scrubber {
  return compileScrub(values).stream();
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
