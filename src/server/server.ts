import net from "node:net";
import { McdiagError } from "../util/errors.js";
import type { Endpoint } from "../util/endpoint.js";
import { binaryOpcodeName } from "../protocol/binary.js";
import { internVerb } from "../protocol/verbs.js";
import { Fifo } from "../util/fifo.js";
import { ArrivalTracker, MAX_RECORDED_COMMANDS, type CommandRecord } from "./recording.js";
import { executeBinary } from "./binary-protocol.js";
import { CLOSE, DEFAULT_FRAMER_LIMITS, NEED_MORE, RequestFramer, type ServerFrame } from "./framer.js";
import { CLOSE_AFTER_WRITE, CLOSE_NOW, Reply, ServerState, WATCH } from "./session.js";
import type { ServerStats } from "./stats.js";
import { executeText } from "./text.js";
import { round } from "../util/round.js";
import { MAX_KEY_BYTES } from "../protocol/keys.js";
import { DEFAULT_ITEM_SIZE_MAX, DEFAULT_MEMORY_BYTES } from "./store.js";

export interface ServerOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** TCP_NODELAY on accepted sockets (memcached sets it; default true). */
  noDelay?: boolean;
  /** Fixed service time per command, ms, answered in order per connection (test knob). */
  delayMs?: number;
  /**
   * Bounded capacity (test knob): `workers` commands served at once across all
   * connections, each taking `serviceMs`: capacity = workers / serviceMs per ms.
   */
  capacity?: { workers: number; serviceMs: number };
  /** Write each reply in two pieces, so a Nagle-on server stalls on the client's delayed ACK (test knob). */
  splitReplies?: boolean;
  /** Read commands and never answer (test knob). */
  silent?: boolean;
  /** Reset (RST) each connection after this many commands (test knob). */
  resetAfterCommands?: number;
  /** Keep a record of how every command arrived (the CI check needs it). */
  record?: boolean;
  /** Commands kept when recording (default MAX_RECORDED_COMMANDS); later ones are counted only. */
  maxRecordedCommands?: number;
  /** Largest item, bytes (memcached's -I); default 1 MiB. */
  maxItemBytes?: number;
  /** Memory for items, bytes (memcached's -m); the oldest items are evicted beyond it. Default 64 MiB. */
  maxBytes?: number;
  /** Open connections accepted at once; later ones are closed at once. Default 10,000. */
  maxConnections?: number;
  /** Forward every command to this memcached and relay its answers, instead of answering (check --upstream). */
  upstream?: Endpoint;
  version?: string;
}

/** Replies not yet sent, per connection, above which the server stops reading from it (resumes on drain). */
const MAX_PENDING_REPLY_BYTES = 4 * 1024 * 1024;
/** Commands held for `delayMs`/`capacity`, per connection, above which reading stops. */
const MAX_QUEUED_COMMANDS = 4096;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * An embedded memcached: the text, meta and binary protocols with
 * memcached 1.6's answers, on a real loopback socket. Like memcached it
 * answers only once a whole command has arrived, so a client that splits a
 * command meets the kernel's Nagle/delayed-ACK interaction. With `record`
 * it keeps how every command arrived (the pieces and the gaps between
 * them), for `mcdiag check`; with `upstream` it relays every command to a
 * real memcached and records the same way.
 *
 * Safe to expose: every buffer is bounded (a line, a value, the replies
 * not yet read, the commands held for a delay), values above the item
 * limit are refused at the command line and discarded unread, and a
 * failure in one connection closes that connection only.
 */
export class EmbeddedServer {
  /** How commands arrived, when `record` is on. */
  readonly records: CommandRecord[] = [];
  readonly #options: ServerOptions;
  readonly #state: ServerState;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #startNs = process.hrtime.bigint();
  #nextConnection = 1;
  /** When each capacity worker is next free (ms, performance.now()). */
  #workerFreeAtMs: number[] = [];
  /** Served jobs in the order they finish (finish times never decrease), and the timer for the first. */
  readonly #finishing = new Fifo<{ atMs: number; job: () => void }>();
  #finishTimer: NodeJS.Timeout | undefined;

  constructor(options: ServerOptions = {}) {
    this.#options = options;
    this.#state = new ServerState(
      options.maxItemBytes ?? DEFAULT_ITEM_SIZE_MAX,
      options.maxBytes ?? DEFAULT_MEMORY_BYTES,
      options.version ?? "1.6.18-mcdiag",
    );
    this.#server = net.createServer((s) => this.#accept(s));
    this.#server.on("error", () => {});
  }

  get options(): Readonly<ServerOptions> {
    return this.#options;
  }

  /** memcached's counters (curr/total connections, cmd_get, get_hits, …) plus `commands` framed. */
  get counters(): Readonly<ServerStats> {
    return { ...this.#state.stats };
  }

  /** Starts listening; resolves with the bound endpoint. */
  listen(): Promise<Endpoint> {
    const host = this.#options.host ?? "127.0.0.1";
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new McdiagError(
            "SERVER_START",
            `cannot listen on ${host}:${this.#options.port ?? 0}: ${err.code ?? err.message}`,
          ),
        );
      };
      this.#server.once("error", onError);
      this.#server.listen({ host, port: this.#options.port ?? 0 }, () => {
        this.#server.off("error", onError);
        const addr = this.#server.address() as net.AddressInfo;
        this.#state.host = host;
        this.#state.port = addr.port;
        resolve({ host, port: addr.port });
      });
    });
  }

  /** Stops listening and drops every connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const st = this.#state.stats;
    socket.on("error", () => {});
    if (this.#sockets.size >= (this.#options.maxConnections ?? 10_000)) {
      st.rejectedConnections++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(this.#options.noDelay ?? true);
    this.#sockets.add(socket);
    st.currConnections++;
    st.totalConnections++;
    const conn = new Connection(this.#hooks, this.#state, this.#options, socket, this.#nextConnection++);
    socket.on("close", () => {
      this.#sockets.delete(socket);
      st.currConnections--;
      conn.closed = true;
    });
  }

  /** What connections need from the server, without exposing it. */
  readonly #hooks: ServerHooks = {
    nowMs: () => Number(process.hrtime.bigint() - this.#startNs) / 1e6,
    record: (r) => {
      if (this.records.length < (this.#options.maxRecordedCommands ?? MAX_RECORDED_COMMANDS)) this.records.push(r);
    },
    serve: (job) => this.#serve(job),
  };

  /**
   * Runs `job` after the service time: after the fixed delay when no capacity
   * bound is set, otherwise when one of the workers has served it. A worker's
   * time is kept on the clock, not in its timer: a timer that fires late (a
   * busy machine) does not make the next job start late, so the capacity is
   * `workers / serviceMs` however late the timers are.
   */
  #serve(job: () => void): void {
    const cap = this.#options.capacity;
    if (cap === undefined) {
      setTimeout(job, this.#options.delayMs ?? 0);
      return;
    }
    const free = this.#workerFreeAtMs;
    while (free.length < cap.workers) free.push(0);
    let w = 0;
    for (let i = 1; i < free.length; i++) if (free[i]! < free[w]!) w = i;
    const nowMs = performance.now();
    const doneMs = Math.max(nowMs, free[w]!) + cap.serviceMs;
    free[w] = doneMs;
    this.#finishing.push({ atMs: doneMs, job });
    if (this.#finishTimer === undefined) this.#armFinish(nowMs);
  }

  /** Finishes every job whose time has come, in order, and waits for the next. */
  #finishDue = (): void => {
    // The fired timer stays set while jobs run, so a job that serves another does not arm a second one.
    const nowMs = performance.now();
    for (let next = this.#finishing.peek(); next !== undefined && next.atMs <= nowMs; next = this.#finishing.peek()) {
      this.#finishing.shift();
      next.job();
    }
    this.#finishTimer = undefined;
    if (this.#finishing.length > 0) this.#armFinish(nowMs);
  };

  #armFinish(nowMs: number): void {
    this.#finishTimer = setTimeout(this.#finishDue, Math.max(0, this.#finishing.peek()!.atMs - nowMs));
  }
}

interface ServerHooks {
  nowMs(): number;
  record(r: CommandRecord): void;
  serve(job: () => void): void;
}

interface Held {
  frame: ServerFrame;
  bytes: number;
}

/**
 * One accepted connection: frames commands as bytes arrive, answers them
 * in order, and stops reading while its replies or held commands are above
 * their bounds.
 */
class Connection {
  closed = false;
  private readonly framer: RequestFramer;
  private readonly reply = new Reply();
  private readonly arrivals: ArrivalTracker | undefined;
  private commandIndex = 0;
  private readonly held: Held[] = [];
  /** A multi-key get answered in part, with where to go on (a copy of its line). */
  private partialGet: Held | undefined;
  private partialAt = -1;
  private heldBytes = 0;
  private serving = false;
  private readingPaused = false;
  private ending = false;
  /** After `watch`, memcached reads no more commands from the connection. */
  private watching = false;
  private readonly upstream: net.Socket | undefined;

  constructor(
    private readonly hooks: ServerHooks,
    private readonly state: ServerState,
    private readonly o: ServerOptions,
    private readonly socket: net.Socket,
    private readonly id: number,
  ) {
    this.arrivals = o.record ? new ArrivalTracker() : undefined;
    this.framer = new RequestFramer({ ...DEFAULT_FRAMER_LIMITS, itemSizeMax: state.itemSizeMax }, (buf, from, to) =>
      this.discarded(buf, from, to),
    );
    if (o.upstream !== undefined) this.upstream = this.connectUpstream(o.upstream);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("end", () => {
      if (this.upstream !== undefined) this.upstream.end();
      else socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.ending || this.watching) return;
    this.state.stats.bytesRead += chunk.length;
    this.arrivals?.onRead(chunk.length, this.hooks.nowMs());
    this.framer.push(chunk);
    this.pump();
  }

  private onDrain(): void {
    if (this.readingPaused && !this.closed) this.pump();
  }

  /** Frames and runs commands until the input runs out or a bound is reached; never throws. */
  private pump(): void {
    const sock = this.socket;
    const cork = !this.o.splitReplies;
    if (cork) sock.cork();
    try {
      while (!this.closed && !this.ending && !this.watching && !this.blocked()) {
        if (this.partialGet !== undefined) {
          this.execute(this.partialGet.frame, this.partialAt);
          continue;
        }
        const r = this.framer.next();
        if (r === NEED_MORE) break;
        if (r === CLOSE) {
          this.fail();
          return;
        }
        this.received(this.framer.frame);
      }
      this.framer.settle();
      const block = this.blocked();
      if (block && !this.readingPaused) {
        this.readingPaused = true;
        sock.pause();
        this.upstream?.pause();
      } else if (!block && this.readingPaused) {
        this.readingPaused = false;
        sock.resume();
        this.upstream?.resume();
      }
    } catch {
      // A bug or a hostile input in one connection ends that connection only.
      this.fail();
    } finally {
      if (cork && !sock.destroyed) sock.uncork();
    }
  }

  private blocked(): boolean {
    return (
      this.socket.writableLength > MAX_PENDING_REPLY_BYTES ||
      this.held.length >= MAX_QUEUED_COMMANDS ||
      this.heldBytes > MAX_QUEUED_BYTES ||
      (this.upstream !== undefined && this.upstream.writableLength > MAX_PENDING_REPLY_BYTES)
    );
  }

  private fail(): void {
    this.closed = true;
    this.socket.destroy();
    this.upstream?.destroy();
  }

  private received(f: ServerFrame): void {
    this.state.stats.commands++;
    if (this.arrivals !== undefined) this.record(f);
    const index = this.commandIndex++;
    const o = this.o;
    if (o.resetAfterCommands !== undefined && index + 1 >= o.resetAfterCommands) {
      this.closed = true;
      this.socket.resetAndDestroy();
      this.upstream?.destroy();
      return;
    }
    if (this.upstream !== undefined) {
      // A copy: the framer reuses its storage once this returns.
      this.upstream.write(Buffer.from(f.buf.subarray(f.start, f.next)));
      return;
    }
    if (o.silent) return;
    if ((o.delayMs ?? 0) > 0 || o.capacity !== undefined || this.serving) {
      const frame = copyFrame(f);
      this.held.push({ frame, bytes: frame.next });
      this.heldBytes += frame.next;
      if (!this.serving) this.serveHeld();
      return;
    }
    this.execute(f);
  }

  /** Answers held commands one at a time, in order, each after its service time. */
  private serveHeld(): void {
    this.serving = true;
    this.hooks.serve(() => {
      const h = this.held.shift();
      if (h !== undefined) {
        this.heldBytes -= h.bytes;
        if (!this.closed) {
          try {
            this.execute(h.frame);
          } catch {
            this.fail();
          }
        }
      }
      if (this.held.length > 0 && !this.closed) this.serveHeld();
      else this.serving = false;
      if (this.readingPaused && !this.closed) this.pump();
    });
  }

  private execute(f: ServerFrame, resumeAt = -1): void {
    const r = this.reply;
    r.reset();
    // Only commands run straight from the input may answer in batches; held ones run whole.
    r.batching = resumeAt >= 0 || f.buf === this.framer.frame.buf;
    if (f.binary) executeBinary(this.state, r, f);
    else executeText(this.state, r, f, resumeAt);
    if (r.bytes > 0) this.write(r.pieces);
    if (r.resumeAt >= 0) {
      if (this.partialGet === undefined) this.partialGet = { frame: copyFrame(f), bytes: f.next - f.start };
      this.partialAt = r.resumeAt - (resumeAt >= 0 ? 0 : f.start);
    } else if (resumeAt >= 0) {
      this.partialGet = undefined;
      this.partialAt = -1;
    }
    if (r.action === CLOSE_AFTER_WRITE) {
      this.ending = true;
      this.socket.end();
    } else if (r.action === CLOSE_NOW) this.fail();
    else if (r.action === WATCH) this.watching = true;
  }

  private write(parts: Buffer[]): void {
    const s = this.socket;
    let n = 0;
    for (const p of parts) n += p.length;
    this.state.stats.bytesWritten += n;
    if (this.o.splitReplies) {
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      const cut = Math.max(1, Math.floor(whole.length / 2));
      s.write(whole.subarray(0, cut));
      s.write(whole.subarray(cut));
      return;
    }
    for (const p of parts) s.write(p);
  }

  /** Bytes the framer discards: relayed in upstream mode, and not attributed to any command in a recording. */
  private discarded(buf: Buffer, from: number, to: number): void {
    this.arrivals?.skip(to - from);
    if (this.upstream !== undefined) this.upstream.write(Buffer.from(buf.subarray(from, to)));
  }

  private connectUpstream(ep: Endpoint): net.Socket {
    const up = net.connect({ host: ep.host, port: ep.port, noDelay: true });
    up.on("error", () => this.fail());
    up.on("data", (chunk: Buffer) => {
      this.state.stats.bytesWritten += chunk.length;
      if (!this.socket.write(chunk)) up.pause();
    });
    this.socket.on("drain", () => {
      if (!this.readingPaused) up.resume();
    });
    up.on("drain", () => this.onDrain());
    up.on("end", () => {
      this.ending = true;
      this.socket.end();
    });
    up.on("close", () => {
      if (!this.socket.destroyed && !this.ending) this.socket.end();
    });
    return up;
  }

  private record(f: ServerFrame): void {
    const buf = f.buf;
    let verb: string;
    let keyFrom = -1;
    let keyTo = -1;
    if (f.binary) {
      verb = binaryOpcodeName(buf[f.start + 1]!);
      const keylen = buf.readUInt16BE(f.start + 2);
      if (keylen > 0) {
        keyFrom = f.start + 24 + buf[f.start + 4]!;
        keyTo = Math.min(keyFrom + keylen, f.lineEnd);
      }
    } else {
      let v = f.start;
      while (v < f.lineEnd && buf[v] !== 0x20) v++;
      verb = internVerb(buf, f.start, v) ?? "other";
      if (v < f.lineEnd) {
        keyFrom = v;
        while (keyFrom < f.lineEnd && buf[keyFrom] === 0x20) keyFrom++;
        keyTo = keyFrom;
        while (keyTo < f.lineEnd && buf[keyTo] !== 0x20) keyTo++;
        // gat/gats take the expiry first; the key follows it.
        if ((verb === "gat" || verb === "gats") && keyTo < f.lineEnd) {
          keyFrom = keyTo + 1;
          keyTo = keyFrom;
          while (keyTo < f.lineEnd && buf[keyTo] !== 0x20) keyTo++;
        }
      }
    }
    const { pieces, maxGapMs } = this.arrivals!.take(f.next - f.start, buf, f.start, keyFrom, keyTo);
    this.hooks.record({
      connection: this.id,
      index: this.commandIndex,
      verb,
      key: keyTo > keyFrom ? buf.toString("latin1", keyFrom, Math.min(keyTo, keyFrom + MAX_KEY_BYTES)) : undefined,
      sizeBytes: f.next - f.start,
      pieces,
      maxGapMs: round(maxGapMs, 3),
      ...(f.swallow > 0 ? { discardedBytes: f.swallow } : {}),
    });
  }
}

/** A frame over its own copy of the command's bytes (the framer reuses its storage). */
function copyFrame(f: ServerFrame): ServerFrame {
  const shift = f.start;
  return {
    ...f,
    buf: Buffer.from(f.buf.subarray(f.start, f.next)),
    start: 0,
    lineEnd: f.lineEnd - shift,
    next: f.next - shift,
    dataStart: f.dataStart < 0 ? -1 : f.dataStart - shift,
  };
}
