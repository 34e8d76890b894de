import net from "node:net";
import { FRAME_INCOMPLETE, FRAME_TOO_LONG, frameCommand, newFrame } from "../protocol/request-framing.js";
import { internVerb, looksLikeCommand } from "../protocol/verbs.js";
import { CarryBuffer } from "../util/carry-buffer.js";

/** One command as a Node client handed it to its socket. */
export interface WatchedCommand {
  /** Numbered in the order sockets first wrote. */
  socket: number;
  command: string;
  /** Only with `showKeys`. */
  key?: string;
  sizeBytes: number;
  /** Flushes to the kernel that carried bytes of this command (a corked group counts once). */
  writes: number;
  /** Bytes this command had in each of those writes. */
  writeSizes: number[];
}

export interface WatchResult<T> {
  result: T;
  commands: WatchedCommand[];
  /** The most writes any one command took (0 when no command was seen). */
  writesPerCommand: number;
  /** Commands that took more than one write. */
  splitCommands: WatchedCommand[];
}

export interface WatchOptions {
  /** Only sockets connected to this port. */
  port?: number;
  showKeys?: boolean;
}

interface SocketState {
  id: number;
  input: CarryBuffer;
  /** Sizes of the writes that carried bytes still in `input`. */
  pending: number[];
  memcached: boolean | undefined;
}

type WriteFn = (this: net.Socket, ...args: unknown[]) => unknown;

let active = false;

/**
 * Observes, while `fn` runs, every write that Node sockets hand to the
 * kernel, and cuts the bytes into memcached commands: a client that sends
 * one command in several writes shows `writes > 1`. It wraps
 * `net.Socket.prototype._write` and `_writev` (where Node flushes a write, or
 * a corked group as one writev) and restores them afterwards; one watch at a
 * time per process.
 *
 * ```ts
 * const { writesPerCommand } = await watchWrites(() => client.get("user:42"));
 * expect(writesPerCommand).toBe(1);
 * ```
 */
export async function watchWrites<T>(fn: () => T | Promise<T>, opts: WatchOptions = {}): Promise<WatchResult<T>> {
  if (active) throw new Error("watchWrites: another watch is running in this process");
  active = true;
  const proto = net.Socket.prototype as unknown as Record<string, WriteFn>;
  const origWrite = proto._write!;
  const origWritev = proto._writev!;
  const states = new WeakMap<net.Socket, SocketState>();
  const commands: WatchedCommand[] = [];
  let nextSocket = 1;
  const frame = newFrame();

  const observe = (sock: net.Socket, data: Buffer) => {
    if (opts.port !== undefined && sock.remotePort !== opts.port) return;
    let st = states.get(sock);
    if (st === undefined) {
      st = { id: nextSocket++, input: new CarryBuffer(256), pending: [], memcached: undefined };
      states.set(sock, st);
    }
    if (st.memcached === false || data.length === 0) return;
    const c = st.input;
    c.append(data);
    st.pending.push(data.length);
    if (st.memcached === undefined) {
      // Decide from the socket's first bytes once the first word is complete.
      if (looksLikeCommand(c.buf, c.start, c.end)) st.memcached = true;
      else if (c.available >= 16 || c.buf.subarray(c.start, c.end).some((b) => b === 0x20 || b === 0x0a)) {
        st.memcached = false;
        c.clear();
        return;
      } else {
        c.settle();
        return;
      }
    }
    for (;;) {
      const at = c.start;
      const next = frameCommand(c.buf, at, c.end, frame);
      if (next === FRAME_INCOMPLETE) break;
      if (next === FRAME_TOO_LONG) {
        st.memcached = false;
        c.clear();
        break;
      }
      const end = next < 0 ? frame.next : next;
      const size = end - at;
      // Attribute this command's bytes to the writes that carried them, oldest first.
      const sizes: number[] = [];
      let left = size;
      while (left > 0 && st.pending.length > 0) {
        const n = Math.min(st.pending[0]!, left);
        sizes.push(n);
        left -= n;
        if (n === st.pending[0]) st.pending.shift();
        else st.pending[0]! -= n;
      }
      const cmd: WatchedCommand = {
        socket: st.id,
        command: internVerb(c.buf, at, frame.verbEnd) ?? "other",
        sizeBytes: size,
        writes: sizes.length,
        writeSizes: sizes,
      };
      if (opts.showKeys && frame.verbEnd < frame.lineEnd) {
        let k = frame.verbEnd + 1;
        while (k < frame.lineEnd && c.buf[k] !== 0x20) k++;
        cmd.key = c.buf.toString("latin1", frame.verbEnd + 1, k);
      }
      commands.push(cmd);
      c.consume(size);
      if (c.start >= c.end) break;
    }
    c.settle();
  };

  proto._write = function (this: net.Socket, chunk: unknown, encoding: unknown, cb: unknown) {
    try {
      observe(this, toBuffer(chunk, encoding));
    } catch {
      // Observation must never break the client.
    }
    return origWrite.call(this, chunk, encoding, cb);
  };
  proto._writev = function (this: net.Socket, chunks: unknown, cb: unknown) {
    try {
      const list = chunks as { chunk: unknown; encoding: unknown }[];
      observe(this, Buffer.concat(list.map((c) => toBuffer(c.chunk, c.encoding))));
    } catch {
      // as above
    }
    return origWritev.call(this, chunks, cb);
  };
  try {
    const result = await fn();
    const splitCommands = commands.filter((c) => c.writes > 1);
    return { result, commands, writesPerCommand: commands.reduce((m, c) => Math.max(m, c.writes), 0), splitCommands };
  } finally {
    proto._write = origWrite;
    proto._writev = origWritev;
    active = false;
  }
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(
    String(chunk),
    (typeof encoding === "string" && encoding !== "buffer" ? encoding : "utf8") as BufferEncoding,
  );
}
