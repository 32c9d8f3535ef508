// Detection of repeated object keys in JSON text, which JSON.parse silently resolves (last wins).

type Frame =
  | { kind: 'object'; segment: string; keys: Set<string>; expectingKey: boolean; lastKey: string }
  | { kind: 'array'; segment: string; index: number };

/**
 * Returns the JSON pointer of the first object (in text order of the repeated key) that has a
 * key twice, `/` for the root object, or null when there is none. Keys compare by decoded value.
 * The repeated key itself is never returned because it may be sensitive; ancestors' keys are.
 * Precondition: `JSON.parse(text)` succeeded. One pass with an explicit stack, so any depth
 * works; paths are built only on a hit, which keeps the scan linear.
 */
export function findDuplicateKey(text: string): string | null {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const segment = childSegment(stack[stack.length - 1]);
      stack.push(
        ch === '{'
          ? { kind: 'object', segment, keys: new Set(), expectingKey: true, lastKey: '' }
          : { kind: 'array', segment, index: 0 },
      );
      i++;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectingKey = true;
      else if (top?.kind === 'array') top.index++;
      i++;
    } else if (ch === '"') {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectingKey) {
        const key = decodeString(text, i, end);
        if (top.keys.has(key)) return pointerOf(stack);
        top.keys.add(key);
        top.lastKey = key;
        top.expectingKey = false;
      }
      i = end + 1;
    } else {
      i++;
    }
  }
  return null;
}

function childSegment(parent: Frame | undefined): string {
  if (parent === undefined) return '';
  return parent.kind === 'object' ? parent.lastKey : String(parent.index);
}

/** Index of the closing quote of the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\') i += 2;
    else if (ch === '"') return i;
    else i++;
  }
  return text.length;
}

function decodeString(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function pointerOf(stack: readonly Frame[]): string {
  if (stack.length <= 1) return '/';
  return stack
    .slice(1)
    .map((frame) => `/${frame.segment.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}
