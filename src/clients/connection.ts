import { writeSync, writevSync } from "node:fs";
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { PreparedCommand } from "../protocol/commands.js";
import { GetFramer, type KeySpace } from "../protocol/get-frame.js";
import { ResponseParser, type ParsedResponse } from "../protocol/response-parser.js";
import { KindError, socketErrorKind, type ErrorKind } from "./errors.js";

/**
 * How a command's bytes are handed to the kernel:
 * - `coalesced`: one `socket.write` of the whole command (one Buffer);
 * - `split`: one `socket.write` per protocol token ("get ", key, "\r\n"),
 *   the pattern that meets Nagle + delayed ACK and stalls ~40 ms on Linux;
 * - `corked`: the same tokens between `cork()` and `uncork()`, which Node
 *   hands to the kernel as one writev.
 */
export type WriteStrategy = "coalesced" | "split" | "corked";
export const WRITE_STRATEGIES: readonly WriteStrategy[] = ["coalesced", "split", "corked"];

export interface ConnectionOptions {
  host: string;
  port: number;
  /** TCP_NODELAY, always set explicitly: true disables Nagle's algorithm. */
  noDelay: boolean;
  write: WriteStrategy;
  connectTimeoutMs: number;
  /**
   * Hears of a reply that answered no request: one that arrived while nothing
   * was in flight. The connection is closed at once (its stream is out of
   * step); the owner counts it.
   */
  onStrayReply?: (conn: Connection, message: string) => void;
}

/**
 * Receives the outcome of one request. One handler object serves many
 * requests. Times are `performance.now()` milliseconds (a double: no
 * allocation per event).
 */
export interface RequestHandler {
  /** `res` is the parser's scratch record, valid only during this call. */
  onResponse(conn: Connection, res: ParsedResponse, doneMs: number): void;
  onFailure(conn: Connection, kind: ErrorKind, message: string): void;
}

/** Node's own stream write, to notice when something wraps it to watch writes. */
// eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
const STREAM_WRITE = net.Socket.prototype._write;

/** Largest VALUE a probe connection accepts (memcached's default item limit is 1 MiB). */
const MAX_REPLY_VALUE_BYTES = 4 * 1024 * 1024;

let nextId = 1;

/**
 * One memcached connection carrying one request at a time (the pool gives a
 * connection to one caller at a time, so there is no pipelining to track).
 */
export class Connection {
  readonly id = nextId++;
  readonly options: ConnectionOptions;
  /** TCP_NODELAY as Node's socket recorded it after connecting (see readNoDelay). */
  noDelay: boolean;
  closed = false;
  /** Bytes of the request in flight, for diagnostics. */
  inFlightVerb = "";
  /** performance.now() when the in-flight command was handed to the kernel. */
  writtenMs = 0;
  /**
   * When the connection really became free: the owner's estimate of when the
   * last response arrived on the socket (≤ its handling time). The pool
   * hands it to the next checkout, so a wait that outlasted a free connection
   * can be told apart.
   */
  freedMs = 0;
  /** performance.now() deadline of the in-flight request; 0 when idle. */
  deadlineMs = 0;
  /** Opaque slot for the pool (the checkout being served). */
  owner: unknown = undefined;

  private readonly socket: net.Socket;
  private readonly parser: ResponseParser;
  private handler: RequestHandler | undefined;
  private closeKind: ErrorKind = "closed";
  /** Bytes read from the socket so far (stream offsets, as the parser counts them). */
  private bytesRead = 0;
  /** bytesRead when the in-flight request was written: a reply starting before this is stale. */
  private requestAtByte = 0;
  /** This connection's reused frame for probe gets. */
  private framer: GetFramer | undefined;
  /** The socket's file descriptor for direct writes; -1 where Node gives none. */
  private readonly fd: number;

  private constructor(socket: net.Socket, options: ConnectionOptions, reader: SocketReader) {
    this.socket = socket;
    this.options = options;
    this.noDelay = options.noDelay;
    const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
    this.fd = typeof handle?.fd === "number" && handle.fd >= 0 ? handle.fd : -1;
    this.parser = new ResponseParser((res) => this.onParsed(res), { maxValueBytes: MAX_REPLY_VALUE_BYTES });
    reader.onBytes = (buf, n) => {
      // Counted before parsing: a request written from inside a response
      // callback (release → next send) must not claim bytes of this read.
      this.bytesRead += n;
      this.parser.pushRange(buf, 0, n);
    };
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.closeKind = socketErrorKind(err, false);
    });
    socket.on("close", () => this.onClose());
  }

  /** Opens a connection; rejects with `{ kind, message }` (an ErrorKind) on failure. */
  static open(options: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const reader = new SocketReader();
      // Reads land in one buffer per connection and go straight to the
      // parser (Node's `onread`): no Buffer and no stream bookkeeping per read.
      // The parser copies whatever it carries over, so the buffer is free
      // again when the callback returns.
      const socket = net.connect({
        host: options.host,
        port: options.port,
        noDelay: options.noDelay,
        onread: {
          buffer: reader.buffer,
          callback: (n) => {
            reader.onBytes(reader.buffer, n);
            return true;
          },
        },
      });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new ConnectError("connect_timeout", `no connection within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      socket.once("error", (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectError(socketErrorKind(err, true), err.code ? `${err.code}` : err.message));
      });
      socket.once("connect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Set explicitly, whatever the platform default: this is the switch under test.
        socket.setNoDelay(options.noDelay);
        const conn = new Connection(socket, options, reader);
        conn.noDelay = readNoDelay(socket, options.noDelay);
        resolve(conn);
      });
    });
  }

  get busy(): boolean {
    return this.handler !== undefined;
  }

  /**
   * Sends `cmd` with this connection's write strategy. The handler hears
   * exactly once: a response, or a failure (timeout, close, protocol error).
   */
  send(cmd: PreparedCommand, handler: RequestHandler, timeoutMs: number, nowMs: number): void {
    this.transmit(cmd.verb, cmd.whole, cmd.tokens, cmd.key, handler, timeoutMs, nowMs);
  }

  /**
   * Sends `get <prefix><index>`, framed into this connection's own buffer
   * (nothing is allocated per request). Same contract as `send`.
   */
  sendGet(keys: KeySpace, index: number, handler: RequestHandler, timeoutMs: number, nowMs: number): void {
    let f = this.framer;
    if (f === undefined || f.keys !== keys) f = this.framer = new GetFramer(keys);
    f.frame(index);
    this.transmit("get", f.whole, f.tokens, f.key, handler, timeoutMs, nowMs);
  }

  private transmit(
    verb: string,
    whole: Buffer,
    tokens: readonly Buffer[],
    key: Buffer | undefined,
    handler: RequestHandler,
    timeoutMs: number,
    nowMs: number,
  ): void {
    if (this.closed) {
      handler.onFailure(this, this.closeKind, "connection already closed");
      return;
    }
    if (this.handler !== undefined) throw new Error(`connection ${this.id} already has a request in flight`);
    this.handler = handler;
    this.inFlightVerb = verb;
    this.deadlineMs = nowMs + timeoutMs;
    this.requestAtByte = this.bytesRead;
    this.parser.expectKey(key);
    // The caller read the clock just before, on the same synchronous path.
    this.writtenMs = nowMs;
    switch (this.options.write) {
      case "coalesced":
        this.writeOut(whole);
        break;
      case "split":
        for (let i = 0; i < tokens.length && !this.closed; i++) this.writeOut(tokens[i]!);
        break;
      case "corked":
        this.writeOutTogether(tokens);
        break;
    }
  }

  /**
   * One write(2) of `buf`. Node's `socket.write` costs a WriteWrap, a tick and
   * an info object per call (about 230 bytes, the bulk of what a probe request
   * allocated); a write the kernel takes whole is the same syscall through the
   * socket's own descriptor, with nothing allocated but a small context. A
   * partial write, EAGAIN, or bytes already queued in the stream go through
   * `socket.write`, so the order of bytes always holds.
   */
  private writeOut(buf: Buffer): void {
    const s = this.socket;
    if (!this.direct()) {
      s.write(buf);
      return;
    }
    let n: number;
    try {
      n = writeSync(this.fd, buf);
    } catch (err) {
      if (!this.writeFailed(err as NodeJS.ErrnoException)) s.write(buf);
      return;
    }
    if (n < buf.length) s.write(buf.subarray(n));
  }

  /** The tokens in one writev(2), as `cork()`/`uncork()` would hand them to the kernel. */
  private writeOutTogether(tokens: readonly Buffer[]): void {
    const s = this.socket;
    if (!this.direct()) {
      s.cork();
      for (let i = 0; i < tokens.length; i++) s.write(tokens[i]!);
      s.uncork();
      return;
    }
    let n = 0;
    try {
      n = writevSync(this.fd, tokens);
    } catch (err) {
      if (this.writeFailed(err as NodeJS.ErrnoException)) return;
    }
    let total = 0;
    for (let i = 0; i < tokens.length; i++) total += tokens[i]!.length;
    if (n < total) s.write(Buffer.concat(tokens).subarray(n));
  }

  /**
   * Direct writes need a descriptor and an empty stream queue (order), and
   * nobody watching the stream's writes: while `watchWrites` (or any tool
   * that wraps `net.Socket.prototype._write`) is on, writes go through the
   * stream so it sees them.
   */
  private direct(): boolean {
    return this.fd >= 0 && this.socket.writableLength === 0 && net.Socket.prototype._write === STREAM_WRITE;
  }

  /** A direct write failed: true when the connection is done for (the in-flight request failed), false to retry through the stream. */
  private writeFailed(err: NodeJS.ErrnoException): boolean {
    if (err.code === "EAGAIN" || err.code === "EWOULDBLOCK") return false;
    this.closeKind = socketErrorKind(err, false);
    this.failInFlight(this.closeKind, `writing the ${this.inFlightVerb} failed: ${err.code ?? err.message}`);
    this.destroy();
    return true;
  }

  /** Fails the in-flight request if its deadline passed; the connection is then unusable. */
  checkDeadline(nowMs: number): void {
    if (this.handler !== undefined && nowMs > this.deadlineMs) {
      this.failInFlight("timeout", `no response to ${this.inFlightVerb} within the timeout`);
      this.destroy();
    }
  }

  destroy(): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
  }

  /** Closes gracefully (FIN), so captures show an orderly end. */
  end(): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.end();
    }
  }

  /**
   * A reply answers the request in flight only if it began after that request
   * was written. Anything else (a reply with nothing in flight, a duplicate
   * already read when the request left, garbage) means the stream is out of
   * step: the request fails as a protocol error, the connection is closed, and
   * the reply is never paired with a later request.
   */
  private onParsed(res: ParsedResponse): void {
    if (this.closed) return;
    const h = this.handler;
    if (h === undefined) {
      this.destroy();
      this.options.onStrayReply?.(
        this,
        res.kind === "protocol_error"
          ? `${res.message} with no request in flight`
          : `a '${res.kind}' reply arrived with no request in flight`,
      );
      return;
    }
    if (res.kind === "protocol_error") {
      this.failInFlight("protocol_error", res.message);
      this.destroy();
      return;
    }
    if (res.startOffset < this.requestAtByte) {
      this.failInFlight(
        "protocol_error",
        `a '${res.kind}' reply began before the ${this.inFlightVerb} was written (the server answered something twice)`,
      );
      this.destroy();
      return;
    }
    const doneMs = performance.now();
    this.handler = undefined;
    this.deadlineMs = 0;
    h.onResponse(this, res, doneMs);
  }

  private onClose(): void {
    this.closed = true;
    this.failInFlight(this.closeKind, `server closed the connection during ${this.inFlightVerb}`);
  }

  private failInFlight(kind: ErrorKind, message: string): void {
    const h = this.handler;
    if (h === undefined) return;
    this.handler = undefined;
    this.deadlineMs = 0;
    h.onFailure(this, kind, message);
  }
}

/** The read buffer of one socket, and where its bytes go once the connection exists. */
class SocketReader {
  readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  onBytes: (buf: Buffer, n: number) => void = () => {};
}

/** One read's worth: larger replies arrive over several reads and are carried by the parser. */
const READ_BUFFER_BYTES = 64 * 1024;

/** A connection could not be opened. */
export class ConnectError extends KindError {}

/**
 * Node offers no getsockopt(TCP_NODELAY); the socket keeps its own record of
 * the last setNoDelay under an internal symbol. Read that when present, so
 * the report shows what the socket holds rather than what was asked.
 */
function readNoDelay(socket: net.Socket, requested: boolean): boolean {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    if (sym.description === "kSetNoDelay") return Boolean((socket as unknown as Record<symbol, unknown>)[sym]);
  }
  return requested;
}
