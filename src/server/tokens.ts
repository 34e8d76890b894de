/**
 * memcached's tokenizer for a text command line (proto_text.c
 * `tokenize_command`): tokens are separated by single spaces only, a NUL
 * byte ends the line, and at most MAX_TOKENS - 1 tokens are split off; the
 * rest of the line is left for the caller (multi-key gets continue there).
 *
 * Offsets go into a scratch record that is reused: call `tokenize` and read
 * the result before the next call. No strings are made.
 */
export const MAX_TOKENS = 24;

export interface Tokens {
  /** Tokens found, not counting memcached's terminal token (its `ntokens` is `count + 1`). */
  count: number;
  starts: Int32Array;
  ends: Int32Array;
  /** Where tokenizing stopped when the line had more tokens, or -1. */
  rest: number;
  /** End of the line as memcached sees it (at the first NUL, if any). */
  lineEnd: number;
}

export function newTokens(): Tokens {
  return { count: 0, starts: new Int32Array(MAX_TOKENS), ends: new Int32Array(MAX_TOKENS), rest: -1, lineEnd: 0 };
}

export function tokenize(buf: Buffer, from: number, to: number, t: Tokens, max = MAX_TOKENS): void {
  let end = to;
  const nul = buf.indexOf(0, from);
  if (nul >= 0 && nul < to) end = nul;
  t.lineEnd = end;
  t.count = 0;
  t.rest = -1;
  let s = from;
  for (let e = from; e < end; e++) {
    if (buf[e] !== 0x20) continue;
    if (s !== e) {
      t.starts[t.count] = s;
      t.ends[t.count] = e;
      t.count++;
      if (t.count === max - 1) {
        if (e + 1 < end) t.rest = e + 1;
        return;
      }
    }
    s = e + 1;
  }
  if (s !== end) {
    t.starts[t.count] = s;
    t.ends[t.count] = end;
    t.count++;
  }
}

/** Length of token i. */
export function tokenLength(t: Tokens, i: number): number {
  return t.ends[i]! - t.starts[i]!;
}

/** Does token i equal the ASCII word? */
export function tokenIs(buf: Buffer, t: Tokens, i: number, word: string): boolean {
  const s = t.starts[i]!;
  if (t.ends[i]! - s !== word.length) return false;
  for (let j = 0; j < word.length; j++) if (buf[s + j] !== word.charCodeAt(j)) return false;
  return true;
}
