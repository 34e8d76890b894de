import { CR, LF, SPACE, nextSpace, parseUint, startsWithAscii } from "../util/bytes.js";

/**
 * Framing of memcached text-protocol requests: where the next command ends.
 * Used by the embedded server and by the capture analyzer to cut a client's
 * byte stream into commands. Storage commands carry a data block whose
 * length is announced on the line, so framing never searches data for CRLF.
 */
export const FRAME_INCOMPLETE = -1;
export const FRAME_MALFORMED = -2;
export const FRAME_TOO_LONG = -3;

/** Scratch record filled by `frameCommand`; offsets are into the caller's buffer. */
export interface CommandFrame {
  /** First byte after the verb (a space, or the line end). */
  verbEnd: number;
  /** Index of the line's CR (or LF when the line ends with a bare LF). */
  lineEnd: number;
  /** Start of the data block, or -1. */
  dataStart: number;
  dataBytes: number;
  /** Index just past the whole command. */
  next: number;
}

export function newFrame(): CommandFrame {
  return { verbEnd: 0, lineEnd: 0, dataStart: -1, dataBytes: 0, next: 0 };
}

export const MAX_REQUEST_LINE_BYTES = 2048;

/**
 * Frames the command at buf[start, end). Returns the index past it (also in
 * `f.next`), or FRAME_INCOMPLETE, FRAME_MALFORMED (a storage line whose
 * length field is not a number), FRAME_TOO_LONG (no line end within
 * `maxLine` bytes).
 */
export function frameCommand(
  buf: Buffer,
  start: number,
  end: number,
  f: CommandFrame,
  maxLine = MAX_REQUEST_LINE_BYTES,
): number {
  let lf = buf.indexOf(LF, start);
  if (lf >= end) lf = -1;
  if (lf < 0) return end - start > maxLine ? FRAME_TOO_LONG : FRAME_INCOMPLETE;
  const lineEnd = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  f.lineEnd = lineEnd;
  f.verbEnd = nextSpace(buf, start, lineEnd);
  f.dataStart = -1;
  f.dataBytes = 0;
  const dataLenArg = storageLengthArgIndex(buf, start, f.verbEnd);
  if (dataLenArg > 0) {
    const bytes = nthArg(buf, f.verbEnd, lineEnd, dataLenArg);
    if (bytes < 0) {
      f.next = lf + 1;
      return FRAME_MALFORMED;
    }
    const need = lf + 1 + bytes + 2;
    if (need > end) return FRAME_INCOMPLETE;
    f.dataStart = lf + 1;
    f.dataBytes = bytes;
    f.next = need;
    return need;
  }
  f.next = lf + 1;
  return lf + 1;
}

/**
 * For storage verbs, which argument (1-based, after the verb) holds the data
 * length: `set key flags exptime bytes` → 4; `ms key datalen` → 2. 0 otherwise.
 */
function storageLengthArgIndex(buf: Buffer, start: number, verbEnd: number): number {
  const n = verbEnd - start;
  if (n === 2 && buf[start] === 0x6d && buf[start + 1] === 0x73) return 2; // ms
  if (
    n === 3 &&
    (startsWithAscii(buf, start, verbEnd, "set") ||
      startsWithAscii(buf, start, verbEnd, "add") ||
      startsWithAscii(buf, start, verbEnd, "cas"))
  )
    return 4;
  if (n === 6 && startsWithAscii(buf, start, verbEnd, "append")) return 4;
  if (n === 7 && (startsWithAscii(buf, start, verbEnd, "replace") || startsWithAscii(buf, start, verbEnd, "prepend")))
    return 4;
  return 0;
}

/** The n-th space-separated argument after `from` as an unsigned integer, or -1. */
function nthArg(buf: Buffer, from: number, lineEnd: number, n: number): number {
  let at = from;
  for (let i = 1; i <= n; i++) {
    while (at < lineEnd && buf[at] === SPACE) at++;
    if (at >= lineEnd) return -1;
    const stop = nextSpace(buf, at, lineEnd);
    if (i === n) return parseUint(buf, at, stop);
    at = stop;
  }
  return -1;
}
