import net from "node:net";
import { CarryBuffer } from "../util/carry-buffer.js";
import { McdiagError } from "../util/errors.js";
import type { Endpoint } from "../util/endpoint.js";
import {
  FRAME_INCOMPLETE,
  FRAME_MALFORMED,
  FRAME_TOO_LONG,
  frameCommand,
  lineArgs,
  newFrame,
  type CommandFrame,
} from "../protocol/request-framing.js";
import { keyProblem } from "../protocol/keys.js";
import { ArrivalTracker, type CommandRecord } from "./recording.js";
import { ItemStore } from "./store.js";

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
  /** Commands kept when recording; later ones are counted only. */
  maxRecordedCommands?: number;
  /** Largest item, bytes; memcached's default is 1 MiB. */
  maxItemBytes?: number;
  version?: string;
}

export interface ServerCounters {
  currConnections: number;
  totalConnections: number;
  commands: number;
  cmdGet: number;
  getHits: number;
  getMisses: number;
  cmdSet: number;
}

const END = Buffer.from("END\r\n");
const STORED = Buffer.from("STORED\r\n");
const NOT_STORED = Buffer.from("NOT_STORED\r\n");
const DELETED = Buffer.from("DELETED\r\n");
const NOT_FOUND = Buffer.from("NOT_FOUND\r\n");
const ERROR = Buffer.from("ERROR\r\n");
const OK = Buffer.from("OK\r\n");
const MN = Buffer.from("MN\r\n");
const BAD_FORMAT = Buffer.from("CLIENT_ERROR bad command line format\r\n");
const BAD_DATA_CHUNK = Buffer.from("CLIENT_ERROR bad data chunk\r\n");
const TOO_LARGE = Buffer.from("SERVER_ERROR object too large for cache\r\n");
const OUT_OF_MEMORY = Buffer.from("SERVER_ERROR out of memory storing object\r\n");
const LINE_TOO_LONG = Buffer.from("CLIENT_ERROR line too long\r\n");

/**
 * An embedded memcached-compatible server: get/gets/set/add/replace/delete/
 * version/stats/flush_all/quit and the meta no-op `mn`. Like memcached it
 * answers only once a whole command has arrived, so a client that splits a
 * command meets the real kernel's Nagle/delayed-ACK interaction on loopback.
 */
export class EmbeddedServer {
  readonly options: ServerOptions;
  readonly store = new ItemStore();
  readonly counters: ServerCounters = {
    currConnections: 0,
    totalConnections: 0,
    commands: 0,
    cmdGet: 0,
    getHits: 0,
    getMisses: 0,
    cmdSet: 0,
  };
  /** How commands arrived, when `record` is on. */
  readonly records: CommandRecord[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly startNs = process.hrtime.bigint();
  private readonly startedAtSec = Math.floor(Date.now() / 1000);
  private nextConnection = 1;
  private busyWorkers = 0;
  private readonly workQueue: (() => void)[] = [];

  constructor(options: ServerOptions = {}) {
    this.options = options;
    this.server = net.createServer((s) => this.accept(s));
  }

  /** Starts listening; resolves with the bound endpoint. */
  listen(): Promise<Endpoint> {
    const host = this.options.host ?? "127.0.0.1";
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new McdiagError(
            "SERVER_START",
            `cannot listen on ${host}:${this.options.port ?? 0}: ${err.code ?? err.message}`,
          ),
        );
      };
      this.server.once("error", onError);
      this.server.listen({ host, port: this.options.port ?? 0 }, () => {
        this.server.off("error", onError);
        const addr = this.server.address() as net.AddressInfo;
        resolve({ host, port: addr.port });
      });
    });
  }

  /** Stops listening and drops every connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Runs `job` after the service time: at once when no capacity bound is set
   * (or after the fixed delay), otherwise when one of the workers is free.
   */
  serve(job: () => void): void {
    const cap = this.options.capacity;
    if (cap === undefined) {
      setTimeout(job, this.options.delayMs ?? 0);
      return;
    }
    const run = () => {
      this.busyWorkers++;
      setTimeout(() => {
        this.busyWorkers--;
        job();
        const next = this.workQueue.shift();
        if (next) next();
      }, cap.serviceMs);
    };
    if (this.busyWorkers < cap.workers) run();
    else this.workQueue.push(run);
  }

  /** ms since the server started, for recordings. */
  nowMs(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(this.options.noDelay ?? true);
    this.sockets.add(socket);
    this.counters.currConnections++;
    this.counters.totalConnections++;
    const conn = new ServerConnection(this, socket, this.nextConnection++);
    socket.on("data", (chunk: Buffer) => conn.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.counters.currConnections--;
      conn.closed = true;
    });
  }

  /** Runs one command; returns the reply pieces (empty for none), or null to close. */
  execute(buf: Buffer, start: number, f: CommandFrame): Buffer[] | null {
    const verb = buf.toString("latin1", start, f.verbEnd);
    const c = this.counters;
    switch (verb) {
      case "get":
      case "gets": {
        const keys = lineArgs(buf, f);
        if (keys.length === 0) return [ERROR];
        const out: Buffer[] = [];
        for (const k of keys) {
          c.cmdGet++;
          const item = this.store.get(k);
          if (item === undefined) {
            c.getMisses++;
            continue;
          }
          c.getHits++;
          out.push(
            verb === "get"
              ? item.valueBlock
              : Buffer.concat([
                  Buffer.from(`VALUE ${k} ${item.flags} ${item.data.length} ${item.cas}\r\n`),
                  item.data,
                  Buffer.from("\r\n"),
                ]),
          );
        }
        out.push(END);
        return out;
      }
      case "set":
      case "add":
      case "replace": {
        const args = lineArgs(buf, f);
        const noreply = args[4] === "noreply";
        const key = args[0] ?? "";
        const flags = Number(args[1]);
        if (args.length < 4 || keyProblem(key) !== undefined || !Number.isInteger(flags) || flags < 0)
          return [BAD_FORMAT];
        if (buf[f.dataStart + f.dataBytes] !== 0x0d || buf[f.dataStart + f.dataBytes + 1] !== 0x0a)
          return [BAD_DATA_CHUNK];
        c.cmdSet++;
        if (f.dataBytes > (this.options.maxItemBytes ?? 1024 * 1024)) return noreply ? [] : [TOO_LARGE];
        const exists = this.store.get(key) !== undefined;
        if ((verb === "add" && exists) || (verb === "replace" && !exists)) return noreply ? [] : [NOT_STORED];
        const ok = this.store.set(key, flags, buf.subarray(f.dataStart, f.dataStart + f.dataBytes));
        return noreply ? [] : [ok ? STORED : OUT_OF_MEMORY];
      }
      case "delete": {
        const args = lineArgs(buf, f);
        if (args.length < 1) return [ERROR];
        const hit = this.store.delete(args[0]!);
        return args.includes("noreply") ? [] : [hit ? DELETED : NOT_FOUND];
      }
      case "version":
        return [Buffer.from(`VERSION ${this.options.version ?? "1.6.0-mcdiag"}\r\n`)];
      case "mn":
        return [MN];
      case "flush_all":
        this.store.clear();
        return [OK];
      case "stats":
        return [Buffer.from(this.statsText())];
      case "quit":
        return null;
      default:
        return [ERROR];
    }
  }

  private statsText(): string {
    const c = this.counters;
    const lines = [
      ["pid", process.pid],
      ["uptime", Math.floor(Date.now() / 1000) - this.startedAtSec],
      ["version", this.options.version ?? "1.6.0-mcdiag"],
      ["curr_connections", c.currConnections],
      ["total_connections", c.totalConnections],
      ["cmd_get", c.cmdGet],
      ["cmd_set", c.cmdSet],
      ["get_hits", c.getHits],
      ["get_misses", c.getMisses],
      ["curr_items", this.store.size],
    ];
    return lines.map(([k, v]) => `STAT ${k} ${v}\r\n`).join("") + "END\r\n";
  }
}

/** One accepted connection: frames commands, answers them in order, records arrivals. */
class ServerConnection {
  closed = false;
  private readonly input = new CarryBuffer();
  private readonly frame = newFrame();
  private readonly arrivals: ArrivalTracker | undefined;
  private commandIndex = 0;
  /** Commands waiting for the service delay, copied out of the input buffer. */
  private readonly queue: Buffer[] = [];
  private serving = false;

  constructor(
    private readonly server: EmbeddedServer,
    private readonly socket: net.Socket,
    private readonly id: number,
  ) {
    this.arrivals = server.options.record ? new ArrivalTracker() : undefined;
  }

  onData(chunk: Buffer): void {
    this.arrivals?.onRead(chunk.length, this.server.nowMs());
    const c = this.input;
    c.append(chunk);
    while (c.start < c.end && !this.closed) {
      const buf = c.buf;
      const start = c.start;
      const next = frameCommand(buf, start, c.end, this.frame);
      if (next === FRAME_INCOMPLETE) break;
      if (next === FRAME_TOO_LONG) {
        this.reply([LINE_TOO_LONG]);
        this.socket.end();
        this.closed = true;
        break;
      }
      const end = next === FRAME_MALFORMED ? this.frame.next : next;
      c.consume(end - start);
      this.received(buf, start, end, next === FRAME_MALFORMED);
    }
    c.settle();
  }

  private received(buf: Buffer, start: number, end: number, malformed: boolean): void {
    const s = this.server;
    s.counters.commands++;
    if (this.arrivals !== undefined) this.record(buf, start, end);
    const index = this.commandIndex++;
    const o = s.options;
    if (o.resetAfterCommands !== undefined && index + 1 >= o.resetAfterCommands) {
      this.closed = true;
      this.socket.resetAndDestroy();
      return;
    }
    if (o.silent) return;
    if (malformed) {
      this.reply([BAD_FORMAT]);
      return;
    }
    if ((o.delayMs ?? 0) > 0 || o.capacity !== undefined || this.serving) {
      this.queue.push(Buffer.from(buf.subarray(start, end)));
      if (!this.serving) this.serveQueued();
      return;
    }
    this.answer(buf, start);
  }

  /** Answers queued commands one at a time, in order, each after its service time. */
  private serveQueued(): void {
    this.serving = true;
    this.server.serve(() => {
      const cmd = this.queue.shift();
      if (cmd !== undefined && !this.closed) {
        const f = newFrame();
        if (frameCommand(cmd, 0, cmd.length, f) > 0) this.answer(cmd, 0);
      }
      if (this.queue.length > 0 && !this.closed) this.serveQueued();
      else this.serving = false;
    });
  }

  private answer(buf: Buffer, start: number): void {
    const f = this.frame;
    frameCommand(buf, start, buf.length, f);
    const reply = this.server.execute(buf, start, f);
    if (reply === null) {
      this.closed = true;
      this.socket.end();
      return;
    }
    if (reply.length > 0) this.reply(reply);
  }

  private reply(parts: Buffer[]): void {
    const s = this.socket;
    if (this.server.options.splitReplies) {
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      const cut = Math.max(1, Math.floor(whole.length / 2));
      s.write(whole.subarray(0, cut));
      s.write(whole.subarray(cut));
      return;
    }
    if (parts.length === 1) {
      s.write(parts[0]!);
      return;
    }
    // One writev: the reply leaves in as few segments as the kernel allows.
    s.cork();
    for (const p of parts) s.write(p);
    s.uncork();
  }

  private record(buf: Buffer, start: number, end: number): void {
    const s = this.server;
    const f0 = this.frame;
    let keyFrom = -1;
    let keyTo = -1;
    if (f0.verbEnd < f0.lineEnd) {
      keyFrom = f0.verbEnd + 1;
      keyTo = keyFrom;
      while (keyTo < f0.lineEnd && buf[keyTo] !== 0x20) keyTo++;
    }
    const { pieces, maxGapMs } = this.arrivals!.take(end - start, buf, start, keyFrom, keyTo);
    const max = s.options.maxRecordedCommands ?? 100_000;
    if (s.records.length >= max) return;
    const f = this.frame;
    const args =
      f.verbEnd < f.lineEnd
        ? buf.toString("latin1", f.verbEnd + 1, Math.min(f.lineEnd, f.verbEnd + 260)).split(" ")
        : [];
    s.records.push({
      connection: this.id,
      index: this.commandIndex,
      verb: buf.toString("latin1", start, f.verbEnd),
      key: args[0] !== undefined && args[0] !== "" ? args[0] : undefined,
      sizeBytes: end - start,
      pieces,
      maxGapMs: Math.round(maxGapMs * 1000) / 1000,
    });
  }
}
