import { CarryBuffer } from "../util/carry-buffer.js";
import { CR, LF, SPACE, nextSpace, parseUint, preview, startsWithAscii } from "../util/bytes.js";

/** What a complete response was. `protocol_error` means the stream is unusable. */
export type ResponseKind =
  | "values" // VALUE blocks (zero or more) then END: get/gets/gat/gats
  | "stats" // STAT lines then END
  | "version"
  | "stored"
  | "not_stored"
  | "exists"
  | "not_found"
  | "deleted"
  | "touched"
  | "ok"
  | "reset"
  | "number" // incr/decr result
  | "meta" // meta protocol: HD VA EN NF NS EX MN ME
  | "error" // ERROR: unknown command
  | "client_error"
  | "server_error" // includes mcrouter's SERVER_ERROR variants
  | "protocol_error"; // bytes no memcached server sends

export interface ValueItem {
  key: string;
  flags: number;
  /** The CAS unique as decimal text (it is a 64-bit number), when the server sent one. */
  cas?: string;
  data: Buffer;
}

/**
 * The parser's scratch record for the response just completed. Owned by the
 * parser and valid only during the `onResponse` call: copy what you keep.
 */
export interface ParsedResponse {
  kind: ResponseKind;
  /** Number of VALUE (or VA) blocks. */
  values: number;
  /** Sum of their data lengths. */
  valueBytes: number;
  /** Text after the status word: the version string, an error message, the number, the meta line. */
  message: string;
  /** Only with `collect: true`. */
  items: ValueItem[];
  /** Only with `collect: true`: STAT name → value. */
  stats: Record<string, string>;
  /**
   * Offset in the whole stream (bytes pushed since the parser was made) of the
   * response's first byte. A client compares it with how many bytes it had
   * read when it wrote its request: a reply that began before then cannot
   * answer that request.
   */
  startOffset: number;
}

export interface ResponseParserOptions {
  /** Keep keys, values and stats (tests, `stats`); the probe leaves it off. */
  collect?: boolean;
  /** A VALUE header announcing more is a protocol error (bounded memory). */
  maxValueBytes?: number;
  /** A line longer than this without a line end is a protocol error. */
  maxLineBytes?: number;
  /** Initial carry-over storage; many parsers at once (one per captured flow) want it small. */
  initialBufferBytes?: number;
}

/**
 * Streaming parser for memcached text-protocol responses. Feed chunks as they
 * arrive; each complete response is reported once. A response is reported
 * only when complete: a VALUE block whose data spans chunks is carried over
 * (binary-safe: data is located by its announced length, never by CRLF).
 */
export class ResponseParser {
  private readonly input: CarryBuffer;
  private readonly res: ParsedResponse = {
    kind: "values",
    values: 0,
    valueBytes: 0,
    message: "",
    items: [],
    stats: {},
    startOffset: 0,
  };
  private readonly collect: boolean;
  private readonly maxValueBytes: number;
  private readonly maxLineBytes: number;
  /** Data bytes still expected for the current VALUE/VA block; -1 when reading lines. */
  private dataNeeded = -1;
  private metaValue = false;
  private inMulti = false;
  private statsMode = false;
  private pendingKey = "";
  private pendingFlags = 0;
  private pendingCas: string | undefined;
  private broken = false;
  /** Bytes dropped by the protocol error, from the failed response's first byte to the last pushed. */
  private dropped = 0;
  /** Stream offset of input.start: every byte consumed or dropped so far. */
  private consumed = 0;
  /** Stream offset where the response being read began; -1 between responses. */
  private responseStart = -1;
  /** The key a VALUE line must name, when the request was a single-key get. */
  private expectedKey: Buffer | undefined;

  constructor(
    private readonly onResponse: (r: ParsedResponse) => void,
    opts: ResponseParserOptions = {},
  ) {
    this.input = new CarryBuffer(opts.initialBufferBytes ?? 16 * 1024);
    this.collect = opts.collect ?? false;
    this.maxValueBytes = opts.maxValueBytes ?? 64 * 1024 * 1024;
    this.maxLineBytes = opts.maxLineBytes ?? 8 * 1024;
  }

  /** True after a protocol error, until reset(). */
  get failed(): boolean {
    return this.broken;
  }

  /**
   * After a protocol error: the bytes it could not parse, from the first byte
   * of the response that failed (perhaps pushed in an earlier chunk) to the
   * last byte pushed. The responses reported before it are not included.
   */
  get failedBytes(): number {
    return this.dropped;
  }

  /** Bytes held over for the next push (a partial line or data block); bounded by the limits. */
  get bufferedBytes(): number {
    return this.input.available;
  }

  /** True while part of a response has arrived but not all of it. */
  get midResponse(): boolean {
    return this.inMulti || this.dataNeeded >= 0 || this.input.available > 0;
  }

  /**
   * The key the next VALUE lines must carry (a single-key get), or undefined
   * for no check. A VALUE for another key is a protocol error: the reply
   * answers some other request. The buffer is read, never kept past the next
   * call.
   */
  expectKey(key: Buffer | undefined): void {
    this.expectedKey = key;
  }

  /** Forget any partial response (after the owner dropped the connection state). */
  reset(): void {
    this.consumed += this.input.available;
    this.input.clear();
    this.dataNeeded = -1;
    this.metaValue = false;
    this.broken = false;
    this.dropped = 0;
    this.clearResponse();
  }

  push(chunk: Buffer): void {
    this.pushRange(chunk, 0, chunk.length);
  }

  /** Parses buf[from, to) as the next bytes of the stream. */
  pushRange(buf: Buffer, from: number, to: number): void {
    if (this.broken) return;
    const c = this.input;
    c.appendRange(buf, from, to);
    while (!this.broken && c.start < c.end) {
      if (this.dataNeeded >= 0) {
        if (!this.takeData()) break;
        continue;
      }
      const buf = c.buf;
      const lf = buf.indexOf(LF, c.start);
      if (lf < 0 || lf >= c.end) {
        if (c.end - c.start > this.maxLineBytes) {
          this.fail(`response line longer than ${this.maxLineBytes} bytes without a line end`);
        }
        break;
      }
      const lineEnd = lf > c.start && buf[lf - 1] === CR ? lf - 1 : lf;
      const start = c.start;
      if (this.responseStart < 0) this.responseStart = this.consumed;
      c.consume(lf + 1 - start);
      this.consumed += lf + 1 - start;
      this.line(buf, start, lineEnd);
    }
    c.settle();
  }

  /** Reads a data block once it is all there; false when more bytes are needed. */
  private takeData(): boolean {
    const c = this.input;
    const n = this.dataNeeded;
    if (c.end - c.start < n + 2) return false;
    const buf = c.buf;
    if (buf[c.start + n] !== CR || buf[c.start + n + 1] !== LF) {
      this.fail(`data block of ${n} bytes is not followed by \\r\\n`);
      return false;
    }
    if (this.collect) {
      const data = Buffer.from(buf.subarray(c.start, c.start + n)); // copy: buf is reused
      const item: ValueItem = { key: this.pendingKey, flags: this.pendingFlags, data };
      if (this.pendingCas !== undefined) item.cas = this.pendingCas;
      this.res.items.push(item);
    }
    c.consume(n + 2);
    this.consumed += n + 2;
    this.dataNeeded = -1;
    if (this.metaValue) {
      this.metaValue = false;
      this.complete("meta");
    }
    return true;
  }

  private line(buf: Buffer, at: number, end: number): void {
    switch (buf[at]) {
      case 0x56: // V
        if (startsWithAscii(buf, at, end, "VALUE ")) return this.valueHeader(buf, at + 6, end);
        if (isWord(buf, at, end, "VERSION")) return this.completeWith("version", buf, at + 8, end);
        if (isWord(buf, at, end, "VA")) return this.metaValueHeader(buf, at, end);
        break;
      case 0x45: // E
        if (isWord(buf, at, end, "END")) return this.complete(this.statsMode ? "stats" : "values");
        if (isWord(buf, at, end, "ERROR")) return this.completeWith("error", buf, at + 6, end);
        if (isWord(buf, at, end, "EXISTS")) return this.complete("exists");
        if (isWord(buf, at, end, "EN") || isWord(buf, at, end, "EX")) return this.completeWith("meta", buf, at, end);
        break;
      case 0x53: // S
        if (startsWithAscii(buf, at, end, "STAT ")) return this.statLine(buf, at + 5, end);
        if (isWord(buf, at, end, "STORED")) return this.complete("stored");
        if (isWord(buf, at, end, "SERVER_ERROR")) return this.completeWith("server_error", buf, at + 13, end);
        break;
      case 0x4e: // N
        if (isWord(buf, at, end, "NOT_FOUND")) return this.complete("not_found");
        if (isWord(buf, at, end, "NOT_STORED")) return this.complete("not_stored");
        if (isWord(buf, at, end, "NF") || isWord(buf, at, end, "NS")) return this.completeWith("meta", buf, at, end);
        break;
      case 0x44: // D
        if (isWord(buf, at, end, "DELETED")) return this.complete("deleted");
        break;
      case 0x54: // T
        if (isWord(buf, at, end, "TOUCHED")) return this.complete("touched");
        break;
      case 0x4f: // O
        if (isWord(buf, at, end, "OK")) return this.complete("ok");
        break;
      case 0x52: // R
        if (isWord(buf, at, end, "RESET")) return this.complete("reset");
        break;
      case 0x43: // C
        if (isWord(buf, at, end, "CLIENT_ERROR")) return this.completeWith("client_error", buf, at + 13, end);
        break;
      case 0x48: // H
        if (isWord(buf, at, end, "HD")) return this.completeWith("meta", buf, at, end);
        break;
      case 0x4d: // M
        if (isWord(buf, at, end, "MN") || isWord(buf, at, end, "ME")) return this.completeWith("meta", buf, at, end);
        break;
      default:
        if (parseUint(buf, at, end) >= 0) return this.completeWith("number", buf, at, end);
    }
    this.fail(`unexpected response line '${preview(buf, at, end)}'`);
  }

  /** `VALUE <key> <flags> <bytes> [<cas>]` */
  private valueHeader(buf: Buffer, at: number, end: number): void {
    const keyEnd = nextSpace(buf, at, end);
    const flagsEnd = nextSpace(buf, keyEnd + 1, end);
    const bytesEnd = nextSpace(buf, flagsEnd + 1, end);
    const flags = parseUint(buf, keyEnd + 1, flagsEnd);
    const bytes = parseUint(buf, flagsEnd + 1, bytesEnd);
    if (keyEnd === at || keyEnd >= end || flags < 0 || bytes < 0) {
      return this.fail(`malformed VALUE line '${preview(buf, at - 6, end)}'`);
    }
    if (bytes > this.maxValueBytes) {
      return this.fail(`VALUE announces ${bytes} bytes, above the limit of ${this.maxValueBytes}`);
    }
    if (this.statsMode) return this.fail("VALUE inside a stats response");
    const want = this.expectedKey;
    if (want !== undefined && !sameBytes(buf, at, keyEnd, want)) {
      return this.fail(
        `VALUE for key '${preview(buf, at, keyEnd)}' in reply to a get of '${preview(want, 0, want.length)}'`,
      );
    }
    this.inMulti = true;
    this.res.values++;
    this.res.valueBytes += bytes;
    if (this.collect) {
      this.pendingKey = buf.toString("latin1", at, keyEnd);
      this.pendingFlags = flags;
      this.pendingCas = bytesEnd < end ? buf.toString("latin1", bytesEnd + 1, end) : undefined;
    }
    this.dataNeeded = bytes;
  }

  /** `VA <size> <flags>*` */
  private metaValueHeader(buf: Buffer, at: number, end: number): void {
    const sizeEnd = nextSpace(buf, at + 3, end);
    const size = parseUint(buf, at + 3, sizeEnd);
    if (size < 0) return this.fail(`malformed VA line '${preview(buf, at, end)}'`);
    if (size > this.maxValueBytes)
      return this.fail(`VA announces ${size} bytes, above the limit of ${this.maxValueBytes}`);
    this.res.values = 1;
    this.res.valueBytes = size;
    this.res.message = buf.toString("latin1", at, end);
    if (this.collect) {
      this.pendingKey = "";
      this.pendingFlags = 0;
      this.pendingCas = undefined;
    }
    this.metaValue = true;
    this.dataNeeded = size;
  }

  private statLine(buf: Buffer, at: number, end: number): void {
    if (this.inMulti && !this.statsMode) return this.fail("STAT inside a retrieval response");
    this.inMulti = true;
    this.statsMode = true;
    if (this.collect) {
      const nameEnd = nextSpace(buf, at, end);
      this.res.stats[buf.toString("latin1", at, nameEnd)] =
        nameEnd < end ? buf.toString("latin1", nameEnd + 1, end) : "";
    }
  }

  private completeWith(kind: ResponseKind, buf: Buffer, from: number, end: number): void {
    this.res.message = from < end ? buf.toString("latin1", from, end) : "";
    this.complete(kind);
  }

  private complete(kind: ResponseKind): void {
    this.res.kind = kind;
    this.res.startOffset = this.responseStart;
    this.onResponse(this.res);
    this.clearResponse();
  }

  private clearResponse(): void {
    const r = this.res;
    r.values = 0;
    r.valueBytes = 0;
    r.message = "";
    if (this.collect) {
      r.items = [];
      r.stats = {};
    }
    this.inMulti = false;
    this.statsMode = false;
    this.responseStart = -1;
  }

  private fail(message: string): void {
    this.broken = true;
    this.res.startOffset = this.responseStart < 0 ? this.consumed : this.responseStart;
    this.consumed += this.input.available;
    this.dropped = this.consumed - this.res.startOffset;
    this.input.clear();
    this.dataNeeded = -1;
    this.res.message = message;
    this.res.kind = "protocol_error";
    this.onResponse(this.res);
    this.clearResponse();
  }
}

/** buf[from, to) holds exactly the bytes of `want`. */
function sameBytes(buf: Buffer, from: number, to: number, want: Buffer): boolean {
  if (to - from !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[from + i] !== want[i]) return false;
  return true;
}

/** `word` at `at`, followed by the line end or a space. */
function isWord(buf: Buffer, at: number, end: number, word: string): boolean {
  if (!startsWithAscii(buf, at, end, word)) return false;
  const after = at + word.length;
  return after === end || buf[after] === SPACE;
}
