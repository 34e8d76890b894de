import net from "node:net";

/**
 * Scripted memcached sessions for differential tests: each step's bytes go
 * out in one write, followed by a flush point (`mn` in text, a Noop with a
 * marker opaque in binary), and the reply is read up to that flush point, so
 * every step's answer is taken apart from the next. A step may wait first
 * (expiry, delayed flush_all).
 */
export interface Step {
  send: string | Buffer;
  /** Wait this long before sending (ms). */
  waitMs?: number;
}

export interface Session {
  name: string;
  binary?: boolean;
  /**
   * Needs servers that have seen nothing else: memcached counts flushed
   * items in `stats items` until its crawler reclaims them, and keeps slab
   * pages once allocated, so these answers depend on history.
   */
  fresh?: boolean;
  steps: (string | Buffer | Step)[];
}

const MARK = 0x6d634d4b;
const NOOP = Buffer.alloc(24);
NOOP[0] = 0x80;
NOOP[1] = 0x0a;
NOOP.writeUInt32BE(MARK, 12);

/** Runs a session against host:port; returns each step's raw reply (latin1), "<closed>" once the server closed. */
export async function runSession(port: number, session: Session, host = "127.0.0.1"): Promise<string[]> {
  const sock = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", () => resolve());
    sock.once("error", reject);
  });
  let acc = Buffer.alloc(0);
  let closed = false;
  let wake: (() => void) | undefined;
  sock.on("data", (d: Buffer) => {
    acc = Buffer.concat([acc, d]);
    wake?.();
  });
  sock.on("close", () => {
    closed = true;
    wake?.();
  });
  sock.on("error", () => {});
  const out: string[] = [];
  try {
    for (const raw of session.steps) {
      const step: Step = typeof raw === "string" || Buffer.isBuffer(raw) ? { send: raw } : raw;
      if (step.waitMs) await new Promise((r) => setTimeout(r, step.waitMs));
      if (closed) {
        out.push("<closed>");
        continue;
      }
      const bytes = Buffer.isBuffer(step.send) ? step.send : Buffer.from(step.send, "latin1");
      sock.write(Buffer.concat([bytes, session.binary ? NOOP : Buffer.from("mn\r\n")]));
      const until = Date.now() + 3000;
      // A step that is itself `mn` answers MN too: wait for its MN and the flush's, which may come in two reads.
      const mnLines = session.binary ? 0 : (bytes.toString("latin1").match(/^mn\r$/gm)?.length ?? 0);
      for (;;) {
        const end = flushPoint(acc, session.binary === true, mnLines + 1);
        if (end >= 0) {
          out.push(acc.subarray(0, end).toString("latin1"));
          acc = acc.subarray(end + (session.binary ? 24 : 4));
          break;
        }
        if (closed) {
          out.push(acc.toString("latin1") + "<closed>");
          acc = Buffer.alloc(0);
          break;
        }
        if (Date.now() > until) {
          out.push(acc.toString("latin1") + "<timeout>");
          acc = Buffer.alloc(0);
          break;
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    }
  } finally {
    sock.destroy();
  }
  return out;
}

/** Where the flush point's answer starts in `acc`, or -1. */
function flushPoint(acc: Buffer, binary: boolean, mnNeeded = 1): number {
  if (!binary) {
    if (acc.length >= 4 && acc.subarray(acc.length - 4).toString("latin1") === "MN\r\n") {
      // The MN must start a line: either the whole reply, or after a CRLF.
      const at = acc.length - 4;
      const mnSeen = acc.toString("latin1").match(/^MN\r$/gm)?.length ?? 0;
      if ((at === 0 || (acc[at - 2] === 0x0d && acc[at - 1] === 0x0a)) && mnSeen >= mnNeeded) return at;
    }
    return -1;
  }
  // Walk the binary responses; the flush point is the Noop carrying the marker.
  let at = 0;
  while (acc.length - at >= 24) {
    const len = 24 + acc.readUInt32BE(at + 8);
    if (acc.length - at < len) return -1;
    if (acc[at + 1] === 0x0a && acc.readUInt32BE(at + 12) === MARK) return at;
    at += len;
  }
  return -1;
}

/**
 * What legitimately differs between two memcached servers: cas values,
 * the version string, stats values, ages and times.
 */
export function normalise(reply: string, binary: boolean): string {
  if (binary) return normaliseBinary(Buffer.from(reply.replace(/<closed>$|<timeout>$/, ""), "latin1")) + tail(reply);
  return reply
    .replace(/^(VALUE \S+ \d+ \d+) \d+\r$/gm, "$1 <cas>\r")
    .replace(/^VERSION .*\r$/gm, "VERSION <v>\r")
    .replace(/^STAT (\S+) .*\r$/gm, "STAT $1 <v>\r")
    .replace(/^(ME \S+) exp=(-?\d+) la=\d+ cas=\d+/gm, "$1 exp=$2 la=<la> cas=<cas>")
    .replace(/^(VA \d+|HD|EX|NF|NS|EN)( .*)?\r$/gm, (m: string, head: string, flags: string | undefined) => {
      if (flags === undefined) return m;
      return head + flags.replace(/ c\d+/g, " c<cas>").replace(/ l\d+/g, " l<la>") + "\r";
    });
}

/**
 * `ours` with each remaining-TTL flag (` t<seconds>`) that is within one
 * second of the same flag in `theirs` taken as theirs: a second may tick
 * between the store and the read on one server and not on the other, and
 * both count TTLs in whole seconds. Anything else must match as it is.
 */
export function sameTtlWithinASecond(ours: string, theirs: string): string {
  const ttl = / t(-?\d+)/g;
  const a = [...ours.matchAll(ttl)];
  const b = [...theirs.matchAll(ttl)];
  if (a.length === 0 || a.length !== b.length) return ours;
  let i = 0;
  return ours.replace(ttl, (m: string, v: string) => {
    const t = b[i++]![1]!;
    return Math.abs(Number(v) - Number(t)) <= 1 ? ` t${t}` : m;
  });
}

function tail(reply: string): string {
  return reply.endsWith("<closed>") ? "<closed>" : reply.endsWith("<timeout>") ? "<timeout>" : "";
}

/** Binary replies as lines: opcode, status, opaque, key, extras, value; cas as <cas>, Version and Stat values as <v>. */
function normaliseBinary(b: Buffer): string {
  const lines: string[] = [];
  let at = 0;
  while (b.length - at >= 24) {
    const op = b[at + 1]!;
    const keylen = b.readUInt16BE(at + 2);
    const extlen = b[at + 4]!;
    const status = b.readUInt16BE(at + 6);
    const bodylen = b.readUInt32BE(at + 8);
    const opaque = b.readUInt32BE(at + 12);
    const cas = b.readBigUInt64BE(at + 16);
    const ext = b.subarray(at + 24, at + 24 + extlen).toString("hex");
    const key = b.subarray(at + 24 + extlen, at + 24 + extlen + keylen).toString("latin1");
    let value = b.subarray(at + 24 + extlen + keylen, at + 24 + bodylen).toString("latin1");
    if (op === 0x0b || op === 0x10) value = value === "" ? "" : "<v>";
    lines.push(
      `magic=${b[at]!.toString(16)} op=${op.toString(16)} status=${status} opaque=${opaque} cas=${cas === 0n ? "0" : "<cas>"} ext=${ext} key=${key} value=${JSON.stringify(value)}`,
    );
    at += 24 + bodylen;
  }
  if (at < b.length) lines.push(`<${b.length - at} trailing bytes>`);
  return lines.join("\n");
}

/** A binary request. */
export function bin(
  opcode: number,
  opts: {
    key?: string;
    extras?: Buffer;
    value?: string | Buffer;
    opaque?: number;
    cas?: bigint;
    bodylen?: number;
  } = {},
): Buffer {
  const key = Buffer.from(opts.key ?? "", "latin1");
  const ext = opts.extras ?? Buffer.alloc(0);
  const value = Buffer.isBuffer(opts.value) ? opts.value : Buffer.from(opts.value ?? "", "latin1");
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = ext.length;
  h.writeUInt32BE(opts.bodylen ?? ext.length + key.length + value.length, 8);
  h.writeUInt32BE(opts.opaque ?? 0, 12);
  h.writeBigUInt64BE(opts.cas ?? 0n, 16);
  return Buffer.concat([h, ext, key, value]);
}

/** Extras for Set/Add/Replace: flags, expiry. */
export function setExtras(flags: number, exptime: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(flags >>> 0);
  b.writeUInt32BE(exptime >>> 0, 4);
  return b;
}

/** Extras for Increment/Decrement: delta, initial, expiry. */
export function incrExtras(delta: bigint, initial: bigint, exptime: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeBigUInt64BE(delta);
  b.writeBigUInt64BE(initial, 8);
  b.writeUInt32BE(exptime >>> 0, 16);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
