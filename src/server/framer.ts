import { CarryBuffer } from "../util/carry-buffer.js";
import { cInt32, cUint32, cUint64 } from "./numbers.js";
import { newTokens, tokenIs, tokenLength, tokenize, type Tokens } from "./tokens.js";
import { MAX_KEY_BYTES } from "../protocol/keys.js";
import { DEFAULT_ITEM_SIZE_MAX } from "./store.js";

/**
 * Cuts a client's byte stream into memcached commands the way memcached
 * reads them, so a recording can say which bytes belonged to which
 * command, and the server can refuse what it will not hold before holding
 * it.
 *
 * The protocol is chosen from the connection's first byte (0x80: binary,
 * anything else: text), as memcached does.
 *
 * Text: a command is a line up to LF. A storage line (`set`, `add`,
 * `replace`, `append`, `prepend`, `cas`, `ms`) that memcached would accept
 * announces a data block of `bytes` + 2; the block is part of the command
 * when it fits the item limit, and is discarded as it arrives (`swallow`)
 * when it does not: memcached answers "object too large" at the line and
 * drops the data the same way. A line with no LF within `maxLineBytes` ends
 * the connection, except `get`/`gets`, which may run to
 * `maxMultigetLineBytes` (memcached lets multi-gets grow).
 *
 * Binary: a command is the 24-byte header, extras and key; storage
 * commands add their value (or discard it when it is above the limit), and
 * unknown opcodes discard their body, as memcached does.
 *
 *   carry:  [ consumed | frame.start … frame.next | not yet framed ]
 *
 * Bytes in `buf` between frame.start and frame.next stay valid until the
 * next call to `next()` or `push()`.
 */
export interface FramerLimits {
  /** Largest item memcached would store (-I), bytes. */
  itemSizeMax: number;
  maxLineBytes: number;
  maxMultigetLineBytes: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = {
  itemSizeMax: DEFAULT_ITEM_SIZE_MAX,
  maxLineBytes: 8192,
  maxMultigetLineBytes: 1024 * 1024,
};

export interface ServerFrame {
  binary: boolean;
  /** Offsets into `buf` (valid until the next call). */
  buf: Buffer;
  start: number;
  /** Text: end of the line without its CR/LF. Binary: end of header + extras + key. */
  lineEnd: number;
  /** Past every byte of this command held in `buf`. */
  next: number;
  /** Text: start of the data block (bytes + CRLF) or -1. Binary: start of the value, or -1. */
  dataStart: number;
  dataBytes: number;
  /** Bytes after this command that will be discarded unread (announced data above the limit). */
  swallow: number;
}

export const NEED_MORE = 0;
export const FRAME = 1;
/** The peer sent what memcached closes the connection for (a line that never ends, a bad binary magic). */
export const CLOSE = 2;

const BIN_HEADER = 24;
/** Opcodes memcached 1.6 dispatches; anything else is "unknown command" and its body is discarded. */
const KNOWN_BINARY = new Uint8Array(256);
for (const op of [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
  0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24,
])
  KNOWN_BINARY[op] = 1;

export function binaryIsSet(op: number): boolean {
  return (op >= 0x01 && op <= 0x03) || (op >= 0x11 && op <= 0x13);
}
export function binaryIsAppend(op: number): boolean {
  return op === 0x0e || op === 0x0f || op === 0x19 || op === 0x1a;
}
export function binaryIsKnown(op: number): boolean {
  return KNOWN_BINARY[op] === 1;
}

const MODE_UNKNOWN = 0;
const MODE_TEXT = 1;
const MODE_BINARY = 2;

export class RequestFramer {
  readonly input = new CarryBuffer(256);
  readonly frame: ServerFrame = {
    binary: false,
    buf: Buffer.alloc(0),
    start: 0,
    lineEnd: 0,
    next: 0,
    dataStart: -1,
    dataBytes: 0,
    swallow: 0,
  };
  /** Bytes still to discard. */
  swallowLeft = 0;
  private mode = MODE_UNKNOWN;
  private readonly tokens: Tokens = newTokens();

  constructor(
    private readonly limits: FramerLimits = DEFAULT_FRAMER_LIMITS,
    /** Receives discarded bytes (for forwarding or accounting); may be absent. */
    private readonly onDiscard?: (buf: Buffer, from: number, to: number) => void,
  ) {}

  get binary(): boolean {
    return this.mode === MODE_BINARY;
  }

  push(chunk: Buffer): void {
    this.input.append(chunk);
  }

  /** Bytes received and not yet framed or discarded. */
  get buffered(): number {
    return this.input.available;
  }

  /**
   * Frames the next command into `frame` and consumes it: FRAME, NEED_MORE
   * (call `settle()` and wait for bytes) or CLOSE.
   */
  next(): number {
    const c = this.input;
    while (this.swallowLeft > 0) {
      if (c.available === 0) return NEED_MORE;
      const n = Math.min(this.swallowLeft, c.available);
      this.onDiscard?.(c.buf, c.start, c.start + n);
      c.consume(n);
      this.swallowLeft -= n;
    }
    if (c.available === 0) return NEED_MORE;
    if (this.mode === MODE_UNKNOWN) this.mode = c.buf[c.start] === 0x80 ? MODE_BINARY : MODE_TEXT;
    const r = this.mode === MODE_BINARY ? this.binaryFrame() : this.textFrame();
    if (r === FRAME) {
      const f = this.frame;
      c.consume(f.next - f.start);
      this.swallowLeft = f.swallow;
    }
    return r;
  }

  /** Keeps unframed bytes across chunks (see CarryBuffer.settle). */
  settle(): void {
    this.input.settle();
  }

  /** Fills the scratch frame for a command with no data (yet). */
  private begin(binary: boolean, buf: Buffer, start: number, lineEnd: number, next: number): ServerFrame {
    const f = this.frame;
    f.binary = binary;
    f.buf = buf;
    f.start = start;
    f.lineEnd = lineEnd;
    f.next = next;
    f.dataStart = -1;
    f.dataBytes = 0;
    f.swallow = 0;
    return f;
  }

  private textFrame(): number {
    const c = this.input;
    const buf = c.buf;
    const start = c.start;
    let lf = buf.indexOf(0x0a, start);
    if (lf >= c.end) lf = -1;
    if (lf < 0) {
      const n = c.end - start;
      if (n <= this.limits.maxLineBytes) return NEED_MORE;
      return isMultiget(buf, start, c.end) && n <= this.limits.maxMultigetLineBytes ? NEED_MORE : CLOSE;
    }
    if (
      lf - start > this.limits.maxLineBytes &&
      !(isMultiget(buf, start, lf) && lf - start <= this.limits.maxMultigetLineBytes)
    )
      return CLOSE;
    // memcached strips a CR before the LF, unless the line is only "\r\n".
    const lineEnd = lf - start > 1 && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    const f = this.begin(false, buf, start, lineEnd, lf + 1);
    const announced = this.announcedData(buf, start, lineEnd);
    if (announced < 0) return FRAME;
    if (announced > this.limits.itemSizeMax + 2) {
      f.swallow = announced;
      return FRAME;
    }
    if (c.end - (lf + 1) < announced) return NEED_MORE;
    f.dataStart = lf + 1;
    f.dataBytes = announced;
    f.next = lf + 1 + announced;
    return FRAME;
  }

  /**
   * Bytes of data (value + CRLF) memcached reads after this line, or -1:
   * the same checks, in the same order, that decide in proto_text.c whether
   * a storage command goes on to read (or swallow) its data.
   */
  private announcedData(buf: Buffer, from: number, to: number): number {
    const t = this.tokens;
    const c0 = buf[from];
    // Fast exit: only lines starting with s, a, r, p, c, m can announce data.
    if (c0 !== 0x73 && c0 !== 0x61 && c0 !== 0x72 && c0 !== 0x70 && c0 !== 0x63 && c0 !== 0x6d) return -1;
    tokenize(buf, from, to, t);
    if (t.count < 1) return -1;
    const ntokens = t.count + 1;
    let lenToken: number;
    if (tokenIs(buf, t, 0, "ms")) {
      if (ntokens < 4 || ntokens > 20 || tokenLength(t, 1) > MAX_KEY_BYTES) return -1;
      lenToken = 2;
    } else {
      const cas = tokenIs(buf, t, 0, "cas");
      const storage =
        cas ||
        tokenIs(buf, t, 0, "set") ||
        tokenIs(buf, t, 0, "add") ||
        tokenIs(buf, t, 0, "replace") ||
        tokenIs(buf, t, 0, "append") ||
        tokenIs(buf, t, 0, "prepend");
      if (!storage) return -1;
      if (cas ? ntokens !== 7 && ntokens !== 8 : ntokens !== 6 && ntokens !== 7) return -1;
      if (tokenLength(t, 1) > MAX_KEY_BYTES) return -1;
      if (cUint32(buf, t.starts[2]!, t.ends[2]!) < 0) return -1;
      if (cInt32(buf, t.starts[3]!, t.ends[3]!) === undefined) return -1;
      if (cInt32(buf, t.starts[4]!, t.ends[4]!) === undefined) return -1;
      if (cas && cUint64(buf, t.starts[5]!, t.ends[5]!) === undefined) return -1;
      lenToken = 4;
    }
    const vlen = cInt32(buf, t.starts[lenToken]!, t.ends[lenToken]!);
    if (vlen === undefined || vlen < 0 || vlen > 0x7fffffff - 2) return -1;
    return vlen + 2;
  }

  private binaryFrame(): number {
    const c = this.input;
    const buf = c.buf;
    const at = c.start;
    if (c.end - at < BIN_HEADER) return NEED_MORE;
    if (buf[at] !== 0x80) return CLOSE;
    const op = buf[at + 1]!;
    const keylen = buf.readUInt16BE(at + 2);
    const extlen = buf[at + 4]!;
    const bodylen = buf.readUInt32BE(at + 8);
    const headEnd = at + BIN_HEADER + extlen + keylen;
    if (c.end < headEnd) return NEED_MORE;
    const f = this.begin(true, buf, at, headEnd, headEnd);
    const shapeOk = keylen <= bodylen && keylen + extlen <= bodylen && keylen <= MAX_KEY_BYTES;
    if (!shapeOk) return FRAME;
    if (!binaryIsKnown(op)) {
      f.swallow = bodylen;
      return FRAME;
    }
    if (op >= 0x20 && op <= 0x22) {
      // SASL, which this server (like memcached without -S) does not offer: refused, the value discarded.
      if (op === 0x20 ? extlen === 0 && keylen === 0 && bodylen === 0 : extlen === 0 && keylen !== 0)
        f.swallow = bodylen - keylen;
      return FRAME;
    }
    let vlen = -1;
    if (binaryIsSet(op) && extlen === 8 && keylen !== 0 && bodylen >= keylen + 8) vlen = bodylen - keylen - 8;
    else if (binaryIsAppend(op) && keylen > 0 && extlen === 0) vlen = bodylen - keylen;
    if (vlen < 0) return FRAME;
    if (vlen + 2 > this.limits.itemSizeMax + 2) {
      f.swallow = vlen;
      return FRAME;
    }
    if (c.end - headEnd < vlen) return NEED_MORE;
    f.dataStart = headEnd;
    f.dataBytes = vlen;
    f.next = headEnd + vlen;
    return FRAME;
  }
}

/** Does the line start (after at most 100 spaces) with "get " or "gets "? */
function isMultiget(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  while (i < to && i - from <= 100 && buf[i] === 0x20) i++;
  if (i - from > 100) return false;
  if (to - i >= 4 && buf[i] === 0x67 && buf[i + 1] === 0x65 && buf[i + 2] === 0x74) {
    return buf[i + 3] === 0x20 || (to - i >= 5 && buf[i + 3] === 0x73 && buf[i + 4] === 0x20);
  }
  return false;
}
