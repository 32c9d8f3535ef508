import { describe, expect, it } from 'vitest';
import { DotenvError, parseDotenv } from './dotenv.js';

describe('parseDotenv: what is read', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['plain', 'A=1\nB=two', { A: '1', B: 'two' }],
    ['export prefix', 'export A=1\nexport\tB=2', { A: '1', B: '2' }],
    ['blank lines and comments', '\n# a comment\n   # indented\nA=1\n\n', { A: '1' }],
    ['empty value', 'A=\nB=""\nC=\'\'', { A: '', B: '', C: '' }],
    ['spaces around =', 'A = 1\nB=   2   ', { A: '1', B: '2' }],
    ['trailing comment after unquoted', 'A=1 # one\nB=x\t#tab', { A: '1', B: 'x' }],
    ['# inside a word is the value', 'A=abc#def\nB= # only a comment', { A: 'abc#def', B: '' }],
    ['single quotes are literal', "A='a b \\n $HOME \" `x`'", { A: 'a b \\n $HOME " `x`' }],
    ['double-quote escapes', 'A="l1\\nl2\\tt\\\\ \\" \\$X \\` \\r"', { A: 'l1\nl2\tt\\ " $X ` \r' }],
    ['# inside quotes is the value', 'A="x # y" # comment\nB=\'#\'', { A: 'x # y', B: '#' }],
    ['a lone $ is literal', 'A=cost$\nB="5$ or 6 $"', { A: 'cost$', B: '5$ or 6 $' }],
    ['CRLF line ends', 'A=1\r\nB="2"\r\n', { A: '1', B: '2' }],
    ['= in the value', 'A=a=b==\nB="x=y"', { A: 'a=b==', B: 'x=y' }],
    ['lower case and underscores', '_a_1=x', { _a_1: 'x' }],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      expect(Object.fromEntries(parseDotenv(text).map((e) => [e.key, e.value]))).toEqual(expected);
    });
  }

  it('keeps the line numbers', () => {
    expect(parseDotenv('# c\n\nA=1\nexport B=2').map((e) => [e.key, e.line])).toEqual([
      ['A', 3],
      ['B', 4],
    ]);
  });
});

describe('parseDotenv: what is refused, by line number, never quoting the line', () => {
  const secret = 's3cr3t-VALUE';
  const cases: [string, string, number, RegExp][] = [
    ['no =', `A=1\n${secret}`, 2, /expected KEY=value/],
    ['bad name', `1A=${secret}`, 1, /not a variable name/],
    ['name with a dash', `MY-KEY=${secret}`, 1, /not a variable name/],
    ['multi-line double quotes', `A="${secret}\nmore"`, 1, /multi-line/],
    ['multi-line single quotes', `A='${secret}\nmore'`, 1, /multi-line/],
    ['text after the closing quote', `A="${secret}"x`, 1, /after the closing quote/],
    ['unknown escape', `A="${secret}\\q"`, 1, /unknown escape/],
    ['$VAR in double quotes', `A="${secret}$HOME"`, 1, /expanded/],
    ['${VAR} unquoted', `A=${secret}\${HOME}`, 1, /expanded/],
    ['$(cmd)', `A="$(cat ${secret})"`, 1, /expanded/],
    ['backtick in double quotes', `A="\`${secret}\`"`, 1, /command substitution/],
    ['unquoted with spaces', `A=${secret} more`, 1, /spaces/],
    ['quote inside unquoted', `A=${secret}"x`, 1, /quote or backslash/],
    ['backslash in unquoted', `A=${secret}\\n`, 1, /quote or backslash/],
    ['unquoted value starting with #', `A=#${secret}`, 1, /starts with #/],
    ['duplicate key', `A=1\n\nA=${secret}`, 3, /A is set again \(first on line 1\)/],
  ];
  for (const [name, text, line, reason] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        parseDotenv(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DotenvError);
      const err = caught as DotenvError;
      expect(err.line).toBe(line);
      expect(err.message).toMatch(new RegExp(`^line ${line}: `));
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain(secret);
    });
  }
});
