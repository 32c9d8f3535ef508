// The forms in which an upstream commonly echoes a value back (SPEC §6), each to be replaced by the
// placeholder: raw, case-changed, JSON-escaped, base64/base64url at every alignment, hex, percent.
import type { ScrubValue } from './scrub.js';

/** A derived form shorter than this is not looked for: it would match innocent text. */
export const minFormLength = 8;

export type FormName = 'raw' | 'upper' | 'lower' | 'json' | 'base64' | 'base64url' | 'hex' | 'percent';

const hex4 = (code: number, upper: boolean) => {
  const h = code.toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};

/** Every JSON string escaping an encoder commonly writes for `text` (without the quotes). */
export function jsonForms(text: string): string[] {
  const minimal = JSON.stringify(text).slice(1, -1);
  const forms = new Set<string>([minimal, minimal.replace(/\//g, '\\/')]);
  for (const upper of [false, true]) {
    // Non-ASCII as \uXXXX (Python's ensure_ascii, Java, .NET), with `/` as is and as \/.
    const ascii = minimal.replace(/[^\x00-\x7e]/g, (c) => hex4(c.charCodeAt(0), upper));
    forms.add(ascii).add(ascii.replace(/\//g, '\\/'));
    // HTML-safe: < > & ' and U+2028/2029 as \uXXXX too (Go, .NET's default encoder), with and without non-ASCII.
    const htmlSafe = (s: string) => s.replace(/[<>&'\u2028\u2029]/g, (c) => hex4(c.charCodeAt(0), upper));
    forms.add(htmlSafe(minimal)).add(htmlSafe(ascii)).add(htmlSafe(ascii).replace(/\//g, '\\/'));
    // Control characters as \u00XX instead of \n, \t, …; every non-alphanumeric character as \uXXXX.
    forms.add(minimal.replace(/\\([bfnrt])/g, (_m, c: string) => hex4('\b\f\n\r\t'.charCodeAt('bfnrt'.indexOf(c)), upper)));
    forms.add(text.replace(/[^A-Za-z0-9]/g, (c) => hex4(c.charCodeAt(0), upper)));
    forms.add(Array.from({ length: text.length }, (_, i) => hex4(text.charCodeAt(i), upper)).join(''));
  }
  return [...forms];
}

/**
 * The characters of base64(value) that depend on the value alone when it sits at byte offset
 * `align` (mod 3) inside a larger blob: what any encoding of a blob holding the value contains.
 */
export function base64Core(value: Buffer, align: 0 | 1 | 2, url: boolean): string {
  const encoded = Buffer.concat([Buffer.alloc(align), value, Buffer.alloc(2)]).toString(url ? 'base64url' : 'base64');
  const first = Math.ceil((8 * align) / 6);
  const last = Math.floor((8 * (align + value.length)) / 6);
  return encoded.slice(first, last);
}

/** encodeURIComponent over bytes (every byte outside A-Z a-z 0-9 - _ . ! ~ * ' ( ) as %XX). */
function percentEncode(value: Buffer, keep: RegExp, upper: boolean, spaceAsPlus: boolean): string {
  let out = '';
  for (const b of value) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && keep.test(c)) out += c;
    else if (spaceAsPlus && b === 0x20) out += '+';
    else out += `%${upper ? b.toString(16).toUpperCase().padStart(2, '0') : b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Every form of `value`, each mapped to `placeholder`; the raw value first, duplicates dropped. */
export function echoForms(value: Buffer, placeholder: Buffer): { form: FormName; value: Buffer; placeholder: Buffer }[] {
  const out: { form: FormName; value: Buffer; placeholder: Buffer }[] = [{ form: 'raw', value, placeholder }];
  const seen = new Set<string>([value.toString('latin1')]);
  const add = (form: FormName, text: string, encoding: BufferEncoding = 'latin1') => {
    const bytes = Buffer.from(text, encoding);
    const key = bytes.toString('latin1');
    if (bytes.length < minFormLength || seen.has(key)) return;
    seen.add(key);
    out.push({ form, value: bytes, placeholder });
  };
  const latin = value.toString('latin1');
  add('upper', latin.replace(/[a-z]+/g, (m) => m.toUpperCase()));
  add('lower', latin.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
  const text = value.toString('utf8');
  // Text forms only for a value that is text: an encoder of text never sees other bytes.
  if (Buffer.from(text, 'utf8').equals(value)) {
    add('upper', text.toUpperCase(), 'utf8');
    add('lower', text.toLowerCase(), 'utf8');
    // Text is also written out as latin1 where it fits (Node writes trailer strings that way).
    const latin1 = (form: FormName, s: string) => /^[\x00-\xff]*$/.test(s) && add(form, s, 'latin1');
    latin1('raw', text);
    for (const form of jsonForms(text)) {
      add('json', form, 'utf8');
      latin1('json', form);
    }
  }
  for (const align of [0, 1, 2] as const) {
    add('base64', base64Core(value, align, false));
    add('base64url', base64Core(value, align, true));
  }
  // Padded encodings of the bare value (its last characters depend on the padding).
  add('base64', value.toString('base64'));
  add('base64', value.toString('base64').replace(/=+$/, ''));
  add('base64url', value.toString('base64url'));
  add('base64url', value.toString('base64').replace(/\+/g, '-').replace(/\//g, '_'));
  add('hex', value.toString('hex'));
  add('hex', value.toString('hex').toUpperCase());
  for (const upper of [true, false]) {
    add('percent', percentEncode(value, /[A-Za-z0-9\-_.!~*'()]/, upper, false));
    add('percent', percentEncode(value, /[A-Za-z0-9\-_.~]/, upper, false));
    add('percent', percentEncode(value, /[A-Za-z0-9\-_.*]/, upper, true));
    add('percent', percentEncode(value, /$^/, upper, false));
  }
  return out;
}

/** The scrub list for some values: every form of each, the raw values first. */
export function scrubForms(values: readonly ScrubValue[]): ScrubValue[] {
  const forms = values.map((v) => echoForms(v.value, v.placeholder));
  return [...forms.map((f) => f[0]!), ...forms.flatMap((f) => f.slice(1))].map(({ value, placeholder }) => ({ value, placeholder }));
}
