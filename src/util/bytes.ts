/** Small byte helpers shared by the text-protocol parsers. */

export const CR = 0x0d;
export const LF = 0x0a;
export const SPACE = 0x20;

/**
 * Parses an unsigned decimal integer in buf[from, to). Returns -1 when the
 * range is empty, holds a non-digit, or exceeds 2^53.
 */
export function parseUint(buf: Buffer, from: number, to: number): number {
  if (from >= to || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** True when buf[at...] starts with the ASCII bytes of `word`. */
export function startsWithAscii(buf: Buffer, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** Index of the next space in buf[from, to), or `to`. */
export function nextSpace(buf: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && buf[i] !== SPACE) i++;
  return i;
}

/** A short printable rendering of bytes for error messages and reports. */
export function preview(buf: Buffer, from: number, to: number, max = 60): string {
  let out = "";
  const stop = Math.min(to, from + max);
  for (let i = from; i < stop; i++) {
    const c = buf[i]!;
    if (c === CR) out += "\\r";
    else if (c === LF) out += "\\n";
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return to - from > max ? out + "…" : out;
}
